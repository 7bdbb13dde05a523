// The codes of the addon's errors (see FaissError in src/errors.ts).
#pragma once

#include <napi.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace reindex {

// Every error the addon raises carries a `code` (FaissError.code) the JS side maps without
// reading its message: INVALID_ARGUMENT, CLOSED, OUT_OF_MEMORY, NO_SPACE, IO or FAISS.

// A failure of our own native code, with its code.
class CodedFailure : public std::runtime_error {
 public:
  CodedFailure(const char* code, const std::string& message) : std::runtime_error(message), code_(code) {}
  const char* code() const noexcept { return code_; }

 private:
  const char* code_;
};

// The code of a failed system call: this machine's disk or memory, or another I/O failure.
inline const char* ErrnoCode(int error) {
  if (error == ENOSPC || error == EDQUOT) return "NO_SPACE";
  if (error == ENOMEM) return "OUT_OF_MEMORY";
  return "IO";
}

// A JS Error with a `code`, for failures found on the JS thread.
inline Napi::Error CodedError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Value().Set("code", Napi::String::New(env, code));
  return error;
}

// A failed system call of our own native code: its errno decides the code.
inline CodedFailure SystemFailure(int error, const std::string& what) {
  return CodedFailure(ErrnoCode(error), what + ": " + std::strerror(error));
}

}  // namespace reindex
