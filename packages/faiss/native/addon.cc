// Module entry: index factories, file and buffer readers, the on-disk merge, thread settings.
#include <faiss/index_factory.h>
#include <faiss/utils/distances.h>
#include <napi.h>
#include <omp.h>

#include <atomic>
#include <cxxabi.h>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include "args.h"
#include "async_task.h"
#include "index_io.h"
#include "index_wrap.h"

extern "C" void openblas_set_num_threads(int threads) __attribute__((weak));

namespace reindex {

namespace {
// 0 = OpenMP's default (all cores). Set from JS, applied on whichever thread runs a task.
std::atomic<int> gThreads{0};
// OpenBLAS runs its own thread pool beside OpenMP's, sized to every core by default: two jobs
// each calling sgemm (exact search, k-means) on a 2-core machine then run four busy threads.
// It follows the faiss thread count. A weak symbol, so a build against another BLAS still
// loads (then that BLAS's own settings apply).
// The count last given to OpenBLAS: it is process-wide, so it is only changed when it differs.
std::atomic<int> gBlasThreads{0};
}  // namespace

void ApplyThreadSettings() {
  int n = gThreads.load();
  int threads = n > 0 ? n : omp_get_num_procs();
  omp_set_num_threads(threads);
  if (openblas_set_num_threads != nullptr && gBlasThreads.exchange(threads) != threads) openblas_set_num_threads(threads);
}

std::string IndexTypeName(const faiss::Index& index) {
  int status = 0;
  const char* mangled = typeid(index).name();
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  std::string s = status == 0 && name ? name.get() : mangled;
  const std::string prefix = "faiss::";
  return s.rfind(prefix, 0) == 0 ? s.substr(prefix.size()) : s;
}

namespace {

Napi::Value FromFactory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t dim = ArgInt(info, 0, "dim", 1, 1 << 16);
  std::string factory = ArgString(info, 1, "factory");
  std::string metric = ArgString(info, 2, "metric");
  if (metric != "ip" && metric != "l2") {
    throw Napi::RangeError::New(env, "metric must be 'ip' or 'l2', got '" + metric + "'");
  }
  try {
    std::unique_ptr<faiss::Index> index(faiss::index_factory(
        (int)dim, factory.c_str(), metric == "ip" ? faiss::METRIC_INNER_PRODUCT : faiss::METRIC_L2));
    return IndexWrap::Wrap(env, std::move(index));
  } catch (const std::exception& e) {
    throw CodedError(env, "FAISS", "fromFactory(" + std::to_string(dim) + ", '" + factory + "'): " + e.what());
  }
}

Napi::Value ReadFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgString(info, 0, "path");
  bool mmap = info.Length() > 1 && info[1].ToBoolean();
  auto result = std::make_shared<std::unique_ptr<faiss::Index>>();
  return AsyncTask::Run(
      env, "read", [path, mmap, result] { *result = ReadIndexFile(path, mmap); },
      [result](Napi::Env env) -> Napi::Value { return IndexWrap::Wrap(env, std::move(*result)); });
}

Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "fromBuffer: argument must be a Buffer or Uint8Array");
  }
  auto bytes = info[0].As<Napi::Uint8Array>();
  if (bytes.ElementLength() == 0) throw Napi::RangeError::New(env, "fromBuffer: the buffer is empty");
  const uint8_t* data = bytes.Data();
  size_t size = bytes.ElementLength();
  auto result = std::make_shared<std::unique_ptr<faiss::Index>>();
  return AsyncTask::Run(
      env, "fromBuffer", [data, size, result] { *result = ReadIndexBuffer(data, size); },
      [result](Napi::Env env) -> Napi::Value { return IndexWrap::Wrap(env, std::move(*result)); }, {bytes});
}

Napi::Value MergeOnDiskJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string trained = ArgString(info, 0, "trainedIndexPath");
  if (info.Length() < 2 || !info[1].IsArray()) throw Napi::TypeError::New(env, "parts must be an array of paths");
  Napi::Array arr = info[1].As<Napi::Array>();
  std::vector<std::string> parts;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsString()) throw Napi::TypeError::New(env, "parts[" + std::to_string(i) + "] must be a string");
    parts.push_back(v.As<Napi::String>().Utf8Value());
  }
  if (parts.empty()) throw Napi::RangeError::New(env, "parts must name at least one sub-index");
  std::string outIndex = ArgString(info, 2, "outIndexPath");
  std::string dataPath = ArgString(info, 3, "dataPath");
  auto result = std::make_shared<OnDiskMergeResult>();
  return AsyncTask::Run(
      env, "mergeOnDisk", [=] { *result = MergeOnDisk(trained, parts, outIndex, dataPath); },
      [result](Napi::Env env) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("ntotal", Napi::Number::New(env, (double)result->ntotal));
        out.Set("dataBytes", Napi::Number::New(env, (double)result->dataBytes));
        return out;
      });
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  gThreads = (int)ArgInt(info, 0, "threads", 0, 4096);
  return info.Env().Undefined();
}

// The thread count OpenBLAS was last given (0: never, or a BLAS other than OpenBLAS).
Napi::Value GetBlasThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), openblas_set_num_threads != nullptr ? gBlasThreads.load() : 0);
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  int n = gThreads.load();
  return Napi::Number::New(info.Env(), n > 0 ? n : omp_get_num_procs());
}

// Below this many query vectors faiss computes distances with its own SIMD loops instead of
// BLAS. It is process-wide in faiss; see the package README for why training raises it.
Napi::Value SetBlasThreshold(const Napi::CallbackInfo& info) {
  SetConfiguredBlasThreshold((int)ArgInt(info, 0, "threshold", 0, 1 << 30));
  return info.Env().Undefined();
}

Napi::Value GetBlasThreshold(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), ConfiguredBlasThreshold());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeIndex", IndexWrap::Define(env));
  exports.Set("fromFactory", Napi::Function::New(env, FromFactory));
  exports.Set("readFile", Napi::Function::New(env, ReadFile));
  exports.Set("fromBuffer", Napi::Function::New(env, FromBuffer));
  exports.Set("mergeOnDisk", Napi::Function::New(env, MergeOnDiskJs));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getBlasThreads", Napi::Function::New(env, GetBlasThreads));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
  exports.Set("tasksInFlight", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), TasksInFlight().load());
  }));
  exports.Set("setBlasThreshold", Napi::Function::New(env, SetBlasThreshold));
  exports.Set("getBlasThreshold", Napi::Function::New(env, GetBlasThreshold));
  exports.Set("simd", Napi::String::New(env, REINDEX_FAISS_SIMD));
  return exports;
}

}  // namespace
}  // namespace reindex

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return reindex::Init(env, exports); }

NODE_API_MODULE(reindex_faiss, InitModule)
