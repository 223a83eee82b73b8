"""Helpers the daskcpp scheduler's embedded interpreter imports.

Nothing here is meant for user code; the C++ side calls these functions on its
interpreter thread (python_compat/interpreter.hpp).
"""
