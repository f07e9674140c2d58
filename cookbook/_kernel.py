"""The kernel ``cookbook run`` starts: ipykernel, exiting without a last garbage collection.

A recipe's kernel holds the SDK's models and their pydantic schemas; the full
collection Python runs at exit walks all of them (about 0.15 s) only to free
memory the exiting process gives back anyway. Freezing the heap at exit skips
that walk; objects are still released as their modules are torn down.
"""

import atexit
import gc

from ipykernel import kernelapp

if __name__ == "__main__":
    atexit.register(gc.freeze)
    kernelapp.launch_new_instance()
