"""``python -m cookbook``: send the first recipe's request and print the answer (offline by default)."""

from __future__ import annotations

import sys


def main() -> int:
    from . import make_client

    client = make_client(cassette="01_hello_world") if len(sys.argv) < 2 else make_client(sys.argv[1])
    print(client.cookbook)
    response = client.beta.conversations.start(
        model="mistral-small-latest",
        inputs=[{"role": "user", "content": "What is the capital of France?"}],
    )
    for output in response.outputs:
        if output.type == "message.output":
            print(output.content if isinstance(output.content, str) else "".join(
                getattr(chunk, "text", str(chunk)) for chunk in output.content))
    return 0


if __name__ == "__main__":
    sys.exit(main())
