// Argument checks done on the JS thread, before any work is queued: a bad argument becomes a
// JS exception naming the argument, never a faiss assertion (which would abort the process).
#pragma once

#include <faiss/Index.h>
#include <napi.h>

#include <cstdint>
#include <cmath>
#include <string>

namespace reindex {

constexpr int64_t kMaxK = 1 << 20;
// Upper bound on queries × k per call (12 bytes of results each: 1.5 GiB at the cap), so a
// typo cannot ask for more memory than a worker has; callers search in batches.
constexpr int64_t kMaxResults = int64_t{1} << 27;

inline Napi::Float32Array ArgFloats(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Float32Array");
  }
  return info[i].As<Napi::Float32Array>();
}

inline Napi::TypedArrayOf<int64_t> ArgIds(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_bigint64_array) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a BigInt64Array");
  }
  return info[i].As<Napi::TypedArrayOf<int64_t>>();
}

inline int64_t RowsOf(Napi::Env env, const Napi::Float32Array& x, int dim, const char* name) {
  size_t len = x.ElementLength();
  if (dim <= 0 || len % (size_t)dim != 0) {
    throw Napi::RangeError::New(env, std::string(name) + ": length " + std::to_string(len) +
                                         " is not a multiple of the index dimension " + std::to_string(dim));
  }
  return (int64_t)(len / (size_t)dim);
}

inline int64_t ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min, int64_t max) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v) || std::floor(v) != v || v < (double)min || v > (double)max) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be an integer in [" + std::to_string(min) +
                                                ", " + std::to_string(max) + "], got " +
                                                info[i].ToString().Utf8Value());
  }
  return (int64_t)v;
}

inline std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
  }
  std::string s = info[i].As<Napi::String>().Utf8Value();
  if (s.empty()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must not be empty");
  return s;
}

// "faiss::IndexIVFPQ" style names, from RTTI (demangled by hand for the common prefix).
std::string IndexTypeName(const faiss::Index& index);

}  // namespace reindex
