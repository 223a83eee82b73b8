#pragma once
// GIL and reference helpers for the code of python_compat/ that calls the CPython
// C API (the shape of pyarrow's arrow/python/common.h: PyAcquireGIL, OwnedRef).
// Private to python_compat/: public headers never include this file.
//
// Thread safety: every function here needs the GIL except PyGilGuard itself.

#include <Python.h>

#include <string>
#include <string_view>

#include "protocol/status.hpp"

namespace daskcpp::python_compat {

// Holds the GIL for its scope (PyGILState_Ensure/Release); nests.
class PyGilGuard {
 public:
  PyGilGuard() : state_(PyGILState_Ensure()) {}
  ~PyGilGuard() { PyGILState_Release(state_); }
  PyGilGuard(const PyGilGuard&) = delete;
  PyGilGuard& operator=(const PyGilGuard&) = delete;

 private:
  PyGILState_STATE state_;
};

// Owns one strong reference. Safe to destroy after Py_FinalizeEx (then it does
// nothing, as arrow's OwnedRef after GH-38626), and from any thread (it takes the
// GIL to decref).
class OwnedRef {
 public:
  OwnedRef() = default;
  explicit OwnedRef(PyObject* obj) : obj_(obj) {}
  OwnedRef(OwnedRef&& other) noexcept : obj_(other.detach()) {}
  OwnedRef& operator=(OwnedRef&& other) noexcept {
    reset(other.detach());
    return *this;
  }
  OwnedRef(const OwnedRef&) = delete;
  OwnedRef& operator=(const OwnedRef&) = delete;
  ~OwnedRef() { reset(); }

  void reset(PyObject* obj = nullptr) {
    if (obj_ != nullptr && Py_IsInitialized()) {
      PyGilGuard gil;
      Py_DECREF(obj_);
    }
    obj_ = obj;
  }
  PyObject* detach() {
    PyObject* o = obj_;
    obj_ = nullptr;
    return o;
  }
  PyObject* get() const { return obj_; }
  explicit operator bool() const { return obj_ != nullptr; }

 private:
  PyObject* obj_ = nullptr;
};

// The pending Python exception as Status::PythonError("<context>: <formatted
// traceback>"), clearing it. If none is pending, an error saying so.
Status python_error_status(std::string_view context);

// A new reference or the pending exception as a Status.
Result<OwnedRef> checked(PyObject* obj, std::string_view context);

}  // namespace daskcpp::python_compat
