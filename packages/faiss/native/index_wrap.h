// The JS handle of one faiss index.
#pragma once

#include <faiss/Index.h>
#include <napi.h>

#include <atomic>
#include <memory>
#include <shared_mutex>
#include <string>

namespace reindex {

// What describe() reports; fixed for the life of an index handle.
struct IndexInfo {
  std::string type;
  std::string metric;
  int64_t nlist = 0;
  int64_t codeSize = 0;
  std::string onDiskDataFile;
  bool readOnly = false;
};

IndexInfo DescribeIndex(const faiss::Index& index);

// faiss's process-wide BLAS threshold as configured by setBlasThreshold. A training that
// raises the global for its sub-quantizers restores this value (not the one it saw), and a
// setBlasThreshold during such a training takes effect when it ends: never a lost write.
void SetConfiguredBlasThreshold(int threshold);
int ConfiguredBlasThreshold();

// Shared between the JS handle and every task in flight on it, so an index outlives a
// garbage-collected handle until its last task ends. Writers (train, add, merge, close)
// take the mutex exclusively; readers (search, serialize, clone) share it.
struct IndexState {
  std::unique_ptr<faiss::Index> index;
  std::shared_mutex mutex;
  // Mirrors of index fields, readable from the JS thread without waiting for a writer.
  std::atomic<int64_t> ntotal{0};
  std::atomic<bool> trained{false};
  std::atomic<bool> closed{false};
  int dim = 0;
  IndexInfo info;

  void Sync() {
    ntotal = index ? index->ntotal : 0;
    trained = index ? index->is_trained : false;
  }
};

class IndexWrap : public Napi::ObjectWrap<IndexWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, std::unique_ptr<faiss::Index> index);

  explicit IndexWrap(const Napi::CallbackInfo& info);

  std::shared_ptr<IndexState> State() const { return state_; }

 private:
  Napi::Value Train(const Napi::CallbackInfo& info);
  Napi::Value AddWithIds(const Napi::CallbackInfo& info);
  Napi::Value RemoveIds(const Napi::CallbackInfo& info);
  Napi::Value Search(const Napi::CallbackInfo& info);
  Napi::Value ToBuffer(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Clone(const Napi::CallbackInfo& info);
  Napi::Value MergeFrom(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Describe(const Napi::CallbackInfo& info);
  Napi::Value GetNtotal(const Napi::CallbackInfo& info);
  Napi::Value GetDim(const Napi::CallbackInfo& info);
  Napi::Value GetIsTrained(const Napi::CallbackInfo& info);

  // Throws a JS error when the index was closed: every method calls this first.
  void EnsureOpen(Napi::Env env) const;

  std::shared_ptr<IndexState> state_;
};

}  // namespace reindex
