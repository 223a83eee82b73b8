#include "python_compat/py_ref.hpp"

namespace daskcpp::python_compat {

namespace {

// traceback.format_exception(exc) joined; falls back to str(exc).
std::string format_exception(PyObject* exc) {
  std::string text;
  OwnedRef module(PyImport_ImportModule("traceback"));
  OwnedRef lines(module ? PyObject_CallMethod(module.get(), "format_exception", "O", exc)
                        : nullptr);
  if (lines && PyList_Check(lines.get())) {
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(lines.get()); ++i) {
      const char* s = PyUnicode_AsUTF8(PyList_GET_ITEM(lines.get(), i));
      if (s != nullptr) text += s;
    }
  }
  if (text.empty()) {
    PyErr_Clear();
    OwnedRef str(PyObject_Str(exc));
    const char* s = str ? PyUnicode_AsUTF8(str.get()) : nullptr;
    text = s != nullptr ? s : "<unprintable exception>";
  }
  PyErr_Clear();
  return text;
}

}  // namespace

Status python_error_status(std::string_view context) {
  PyObject* type = nullptr;
  PyObject* value = nullptr;
  PyObject* tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  if (type == nullptr) {
    return Status::PythonError(std::string(context) + ": failed without an exception");
  }
  PyErr_NormalizeException(&type, &value, &tb);
  if (tb != nullptr && value != nullptr) PyException_SetTraceback(value, tb);
  OwnedRef t(type), v(value), b(tb);
  return Status::PythonError(std::string(context) + ": " +
                             format_exception(value != nullptr ? value : type));
}

Result<OwnedRef> checked(PyObject* obj, std::string_view context) {
  if (obj == nullptr) return python_error_status(context);
  return OwnedRef(obj);
}

}  // namespace daskcpp::python_compat
