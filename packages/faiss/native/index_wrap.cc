#include "index_wrap.h"

#include <faiss/IVFlib.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/Clustering.h>
#include <faiss/utils/distances.h>
#include <faiss/clone_index.h>
#include <faiss/invlists/OnDiskInvertedLists.h>
#include <faiss/impl/IDSelector.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <vector>
#include <limits>
#include <mutex>
#include <string>
#include <typeinfo>

#include "args.h"
#include "async_task.h"
#include "index_io.h"

namespace reindex {

namespace {

struct AddonData {
  Napi::FunctionReference indexConstructor;
};

AddonData* Data(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

// Hands a heap vector to JS as an external ArrayBuffer: no copy, freed by the GC.
template <typename T>
Napi::ArrayBuffer ExternalBuffer(Napi::Env env, std::vector<T>* owned) {
  return Napi::ArrayBuffer::New(env, owned->data(), owned->size() * sizeof(T),
                                [](Napi::Env, void*, std::vector<T>* v) { delete v; }, owned);
}

// Moves a result out of the shared holder captured by a task into a heap vector that the JS
// buffer built from it will own.
template <typename T>
std::vector<T>* Take(const std::shared_ptr<std::vector<T>>& holder) {
  return new std::vector<T>(std::move(*holder));
}

struct TrainTuning {
  int polysemous = -1;           // -1: as the factory set it
  int pqPointsPerCentroid = 0;   // 0: faiss default (256)
  bool pqKmeansBlas = true;      // false: sub-quantizer k-means uses faiss's SIMD loops
  bool twoLevel = false;         // coarse centroids by two-level k-means (TrainTwoLevel)
  int kmeansIterations = 0;      // 0: as the index set it (faiss: 10 for IVF), for the coarse k-means
  int quantizerEfSearch = 0;     // 0: as the factory set it (HNSW coarse quantizers only)
};

// Splits `total` centroids over clusters of `sizes` points in proportion (largest remainder),
// each non-empty cluster at least one, none more than its points (k-means needs n >= k).
std::vector<size_t> AllocateCentroids(size_t total, const std::vector<size_t>& sizes) {
  size_t n = std::accumulate(sizes.begin(), sizes.end(), size_t(0));
  std::vector<size_t> k(sizes.size(), 0);
  std::vector<std::pair<double, size_t>> remainders;
  size_t given = 0;
  for (size_t i = 0; i < sizes.size(); i++) {
    if (sizes[i] == 0) continue;
    double exact = (double)total * sizes[i] / n;
    k[i] = std::min(sizes[i], std::max<size_t>(1, (size_t)exact));
    given += k[i];
    remainders.push_back({exact - (double)k[i], i});
  }
  std::sort(remainders.begin(), remainders.end(), [](auto& a, auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  // Hand out what is left (or take back what the minimum of one gave too much), round-robin
  // over the clusters by remainder; stops when no cluster can take (or give) more.
  while (given != total) {
    bool moved = false;
    for (auto& r : remainders) {
      if (given == total) break;
      size_t i = r.second;
      if (given < total && k[i] < sizes[i]) { k[i]++; given++; moved = true; }
      else if (given > total && k[i] > 1) { k[i]--; given--; moved = true; }
    }
    if (!moved) break;
  }
  return k;
}

// Two-level k-means for large nlist: sqrt(nlist) coarse clusters over the whole sample, then
// each cluster's points are clustered into a share of the nlist centroids proportional to its
// size. Each level costs about n·sqrt(nlist)·d per iteration instead of n·nlist·d, which is
// what makes 16k–256k lists trainable on a CPU worker in minutes. The centroids then go into
// the IVF's own quantizer (flat or HNSW), exactly as faiss's own training would leave them.
void TrainTwoLevel(faiss::IndexIVF& ivf, int64_t n, const float* x) {
  const size_t d = ivf.d;
  const size_t nlist = ivf.nlist;
  if ((size_t)n < nlist || n > (int64_t)UINT32_MAX) {
    throw CodedFailure("INVALID_ARGUMENT", "two-level training needs at least nlist (" + std::to_string(nlist) +
                             ") and at most 4294967295 vectors, got " + std::to_string(n));
  }
  const bool ip = ivf.metric_type == faiss::METRIC_INNER_PRODUCT;
  auto makeAssigner = [&](void) -> std::unique_ptr<faiss::IndexFlat> {
    if (ip) return std::make_unique<faiss::IndexFlatIP>(d);
    return std::make_unique<faiss::IndexFlatL2>(d);
  };
  faiss::ClusteringParameters cp = ivf.cp;
  const size_t k1 = std::max<size_t>(1, std::min<size_t>(nlist, (size_t)std::lround(std::sqrt((double)nlist))));
  faiss::Clustering top(d, k1, cp);
  auto topAssigner = makeAssigner();
  top.train(n, x, *topAssigner);

  // Assign every point of the sample to its coarse cluster.
  std::vector<faiss::Index::idx_t> assign(n);
  std::vector<float> dist(n);
  topAssigner->search(n, x, 1, dist.data(), assign.data());
  std::vector<size_t> sizes(k1, 0);
  for (int64_t i = 0; i < n; i++) sizes[assign[i]]++;
  std::vector<size_t> share = AllocateCentroids(nlist, sizes);
  size_t allocated = std::accumulate(share.begin(), share.end(), size_t(0));
  if (allocated != nlist) throw std::runtime_error("two-level training could not allocate " + std::to_string(nlist) + " centroids");

  // Point numbers of each coarse cluster, contiguous (4 bytes a point, not a copy of the sample).
  std::vector<size_t> offsets(k1 + 1, 0);
  for (size_t c = 0; c < k1; c++) offsets[c + 1] = offsets[c] + sizes[c];
  std::vector<size_t> fill(offsets.begin(), offsets.end() - 1);
  std::vector<uint32_t> members(n);
  for (int64_t i = 0; i < n; i++) members[fill[assign[i]]++] = (uint32_t)i;
  std::vector<faiss::Index::idx_t>().swap(assign);
  std::vector<float>().swap(dist);

  std::vector<float> centroids;
  centroids.reserve(nlist * d);
  faiss::ClusteringParameters cp2 = cp;
  // Shares are proportional, so points per centroid stay those of the whole sample; a small
  // cluster is not worth faiss's "too few points" warning on stderr.
  cp2.min_points_per_centroid = 1;
  std::vector<float> xc;  // one cluster's points at a time
  for (size_t c = 0; c < k1; c++) {
    if (share[c] == 0) continue;
    xc.resize(sizes[c] * d);
    for (size_t j = 0; j < sizes[c]; j++) {
      const float* p = x + (size_t)members[offsets[c] + j] * d;
      std::copy(p, p + d, xc.begin() + j * d);
    }
    if (share[c] == sizes[c]) {  // as many centroids as points: the points are the centroids
      centroids.insert(centroids.end(), xc.begin(), xc.end());
      continue;
    }
    cp2.seed = cp.seed + 1 + (int)c;
    faiss::Clustering sub(d, share[c], cp2);
    auto assigner = makeAssigner();
    sub.train(sizes[c], xc.data(), *assigner);
    centroids.insert(centroids.end(), sub.centroids.begin(), sub.centroids.end());
  }

  faiss::Index* q = ivf.quantizer;
  q->reset();
  if (!q->is_trained) q->train(nlist, centroids.data());
  q->add(nlist, centroids.data());
  q->is_trained = true;
}

// IVF-PQ training with two knobs faiss only exposes as fields and globals:
//  - the sample the product quantizer trains on (pq.cp.max_points_per_centroid × 256);
//  - the BLAS threshold, raised only while the d/M-dimensional sub-quantizers train: for
//    8-dimensional sub-vectors, BLAS calls cost more than faiss's own SIMD distance loops,
//    while the coarse quantizer (full dimension) still trains through BLAS.
// The threshold is process-wide in faiss, so a search running meanwhile on another index
// may take the other distance path: a speed difference only, results are the same.
std::mutex gBlasThresholdMutex;
std::atomic<int> gConfiguredBlasThreshold{faiss::distance_compute_blas_threshold};

// PQ encoding through faiss's transposed-centroid kernel (AVX2 nearest-centroid search over
// ||c||² − 2·x·c): PQ32 on 128-d encoded ~3x faster in bench:train than the default per-centroid
// loop. The table is an in-memory cache faiss never serializes; it is built before adds and
// dropped before training, when the codebooks change.
void UseTransposedPqCentroids(faiss::Index& index) {
  auto* ivfpq = dynamic_cast<faiss::IndexIVFPQ*>(faiss::ivflib::try_extract_index_ivf(&index));
  if (ivfpq && ivfpq->is_trained && ivfpq->pq.transposed_centroids.empty()) ivfpq->pq.sync_transposed_centroids();
}

void TrainIndex(faiss::Index& index, int64_t n, const float* x, const TrainTuning& tuning) {
  auto* ivf = dynamic_cast<faiss::IndexIVF*>(&index);
  auto* ivfpq = dynamic_cast<faiss::IndexIVFPQ*>(&index);
  if (ivfpq) ivfpq->pq.clear_transposed_centroids();
  if (ivfpq) {
    if (tuning.polysemous >= 0) ivfpq->do_polysemous_training = tuning.polysemous == 1;
    if (tuning.pqPointsPerCentroid > 0) ivfpq->pq.cp.max_points_per_centroid = tuning.pqPointsPerCentroid;
  }
  if (ivf) {
    if (tuning.kmeansIterations > 0) ivf->cp.niter = tuning.kmeansIterations;
    if (tuning.quantizerEfSearch > 0) {
      if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(ivf->quantizer)) hnsw->hnsw.efSearch = tuning.quantizerEfSearch;
    }
  }
  if (!ivf || (tuning.pqKmeansBlas && !tuning.twoLevel)) {
    index.train(n, x);
    return;
  }
  // Same steps as faiss::IndexIVF::train: the coarse quantizer (faiss's k-means or ours),
  // then the residual codebooks, with the BLAS threshold raised around them unless asked not to.
  if (tuning.twoLevel) {
    TrainTwoLevel(*ivf, n, x);
  } else {
    ivf->train_q1(n, x, ivf->verbose, ivf->metric_type);
  }
  if (tuning.pqKmeansBlas) {
    ivf->train_residual(n, x);
  } else {
    std::lock_guard<std::mutex> guard(gBlasThresholdMutex);
    faiss::distance_compute_blas_threshold = std::numeric_limits<int>::max();
    try {
      ivf->train_residual(n, x);
    } catch (...) {
      faiss::distance_compute_blas_threshold = gConfiguredBlasThreshold.load();
      throw;
    }
    faiss::distance_compute_blas_threshold = gConfiguredBlasThreshold.load();
  }
  ivf->is_trained = true;
}

// Tasks queued before close() find the index gone once they get the lock.
void RequireOpen(const IndexState& state) {
  if (!state.index) throw CodedFailure("CLOSED", "the index was closed");
}

}  // namespace

void SetConfiguredBlasThreshold(int threshold) {
  gConfiguredBlasThreshold.store(threshold);
  // Never blocks the JS thread: while a training holds the raised value, it applies this one
  // when it finishes.
  std::unique_lock<std::mutex> lock(gBlasThresholdMutex, std::try_to_lock);
  if (lock.owns_lock()) faiss::distance_compute_blas_threshold = threshold;
}

int ConfiguredBlasThreshold() { return gConfiguredBlasThreshold.load(); }

IndexInfo DescribeIndex(const faiss::Index& index) {
  IndexInfo d;
  d.type = IndexTypeName(index);
  d.metric = index.metric_type == faiss::METRIC_INNER_PRODUCT ? "ip" : "l2";
  const faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(&index);
  if (ivf) {
    d.nlist = (int64_t)ivf->nlist;
    d.codeSize = (int64_t)ivf->code_size;
    auto* od = dynamic_cast<const faiss::OnDiskInvertedLists*>(ivf->invlists);
    if (od) {
      d.onDiskDataFile = od->filename;
      d.readOnly = od->read_only;
    }
  }
  return d;
}

Napi::Function IndexWrap::Define(Napi::Env env) {
  Napi::Function ctor = DefineClass(
      env, "NativeIndex",
      {
          InstanceMethod<&IndexWrap::Train>("train"),
          InstanceMethod<&IndexWrap::AddWithIds>("addWithIds"),
          InstanceMethod<&IndexWrap::RemoveIds>("removeIds"),
          InstanceMethod<&IndexWrap::Search>("search"),
          InstanceMethod<&IndexWrap::ToBuffer>("toBuffer"),
          InstanceMethod<&IndexWrap::Write>("write"),
          InstanceMethod<&IndexWrap::Clone>("clone"),
          InstanceMethod<&IndexWrap::MergeFrom>("mergeFrom"),
          InstanceMethod<&IndexWrap::Close>("close"),
          InstanceMethod<&IndexWrap::Describe>("describe"),
          InstanceAccessor<&IndexWrap::GetNtotal>("ntotal"),
          InstanceAccessor<&IndexWrap::GetDim>("dim"),
          InstanceAccessor<&IndexWrap::GetIsTrained>("isTrained"),
      });
  auto* data = new AddonData();
  data->indexConstructor = Napi::Persistent(ctor);
  env.SetInstanceData(data);
  return ctor;
}

Napi::Object IndexWrap::Wrap(Napi::Env env, std::unique_ptr<faiss::Index> index) {
  Napi::Object obj = Data(env)->indexConstructor.New({Napi::External<faiss::Index>::New(env, index.get())});
  IndexWrap* wrap = Unwrap(obj);
  wrap->state_->index = std::move(index);
  wrap->state_->dim = wrap->state_->index->d;
  wrap->state_->info = DescribeIndex(*wrap->state_->index);
  wrap->state_->Sync();
  return obj;
}

IndexWrap::IndexWrap(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<IndexWrap>(info), state_(std::make_shared<IndexState>()) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(),
                               "NativeIndex cannot be constructed directly: use fromFactory, "
                               "read or fromBuffer");
  }
}

void IndexWrap::EnsureOpen(Napi::Env env) const {
  if (state_->closed) throw CodedError(env, "CLOSED", "the index was closed");
}

Napi::Value IndexWrap::GetNtotal(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), (double)state_->ntotal.load());
}

Napi::Value IndexWrap::GetDim(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), state_->dim);
}

Napi::Value IndexWrap::GetIsTrained(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), state_->trained.load());
}

Napi::Value IndexWrap::Train(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  auto x = ArgFloats(info, 0, "vectors");
  int64_t n = RowsOf(env, x, state_->dim, "vectors");
  if (n == 0) throw Napi::RangeError::New(env, "train: needs at least one vector");
  TrainTuning tuning;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    if (o.Has("polysemousTraining")) tuning.polysemous = o.Get("polysemousTraining").ToBoolean() ? 1 : 0;
    if (o.Has("pqPointsPerCentroid")) {
      Napi::Value v = o.Get("pqPointsPerCentroid");
      double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
      if (!(d >= 1 && d <= (1 << 20) && std::floor(d) == d)) {
        throw Napi::RangeError::New(env, "pqPointsPerCentroid must be an integer in [1, 1048576]");
      }
      tuning.pqPointsPerCentroid = (int)d;
    }
    if (o.Has("pqKmeansBlas")) tuning.pqKmeansBlas = o.Get("pqKmeansBlas").ToBoolean();
    if (o.Has("coarseTraining")) {
      Napi::Value v = o.Get("coarseTraining");
      std::string method = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
      if (method != "flat" && method != "two-level") {
        throw Napi::TypeError::New(env, "coarseTraining must be \"flat\" or \"two-level\"");
      }
      tuning.twoLevel = method == "two-level";
    }
    auto intOption = [&](const char* name, int lo, int hi) {
      Napi::Value v = o.Get(name);
      double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
      if (!(d >= lo && d <= hi && std::floor(d) == d)) {
        throw Napi::RangeError::New(env, std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
      }
      return (int)d;
    };
    if (o.Has("kmeansIterations")) tuning.kmeansIterations = intOption("kmeansIterations", 1, 1000);
    if (o.Has("quantizerEfSearch")) tuning.quantizerEfSearch = intOption("quantizerEfSearch", 1, 1 << 16);
  }
  auto state = state_;
  const float* data = x.Data();
  return AsyncTask::Run(
      env, "train",
      [state, n, data, tuning] {
        std::unique_lock lock(state->mutex);
        RequireOpen(*state);
        TrainIndex(*state->index, n, data, tuning);
        state->Sync();
      },
      [](Napi::Env env) { return env.Undefined(); }, {x});
}

Napi::Value IndexWrap::AddWithIds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  auto x = ArgFloats(info, 0, "vectors");
  auto ids = ArgIds(info, 1, "ids");
  int64_t n = RowsOf(env, x, state_->dim, "vectors");
  if ((int64_t)ids.ElementLength() != n) {
    throw Napi::RangeError::New(env, "addWithIds: " + std::to_string(n) + " vectors but " +
                                         std::to_string(ids.ElementLength()) + " ids");
  }
  if (!state_->trained) {
    throw CodedError(env, "INVALID_ARGUMENT", "addWithIds: the index is not trained; call train() first");
  }
  // faiss would throw from inside an OpenMP loop, which aborts the process: refuse here.
  if (state_->info.readOnly) {
    throw CodedError(env, "INVALID_ARGUMENT", "addWithIds: the index is read-only (memory-mapped or on-disk lists)");
  }
  auto state = state_;
  const float* data = x.Data();
  const int64_t* idData = ids.Data();
  return AsyncTask::Run(
      env, "addWithIds",
      [state, n, data, idData] {
        std::unique_lock lock(state->mutex);
        RequireOpen(*state);
        UseTransposedPqCentroids(*state->index);
        state->index->add_with_ids(n, data, idData);
        state->Sync();
      },
      [](Napi::Env env) { return env.Undefined(); }, {x, ids});
}

Napi::Value IndexWrap::RemoveIds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  auto ids = ArgIds(info, 0, "ids");
  if (state_->info.readOnly) {
    throw CodedError(env, "INVALID_ARGUMENT", "removeIds: the index is read-only (memory-mapped or on-disk lists)");
  }
  if (state_->info.nlist <= 0) throw CodedError(env, "INVALID_ARGUMENT", "removeIds: only IVF indexes can remove ids here");
  auto state = state_;
  const int64_t* idData = ids.Data();
  size_t n = ids.ElementLength();
  auto removed = std::make_shared<size_t>(0);
  return AsyncTask::Run(
      env, "removeIds",
      [state, idData, n, removed] {
        std::unique_lock lock(state->mutex);
        RequireOpen(*state);
        faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(state->index.get());
        if (!ivf) throw CodedFailure("INVALID_ARGUMENT", "only IVF indexes can remove ids here");
        // Every entry whose id is in the batch goes, in every list (IndexIVF::remove_ids).
        faiss::IDSelectorBatch selector(n, idData);
        *removed = ivf->remove_ids(selector);
        state->index->ntotal = ivf->ntotal;
        state->Sync();
      },
      [removed](Napi::Env env) { return Napi::Number::New(env, (double)*removed); }, {ids});
}

Napi::Value IndexWrap::Search(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  auto q = ArgFloats(info, 0, "queries");
  int64_t n = RowsOf(env, q, state_->dim, "queries");
  int64_t k = ArgInt(info, 1, "k", 1, kMaxK);
  int64_t nprobe = info.Length() > 2 && !info[2].IsUndefined() ? ArgInt(info, 2, "nprobe", 1, 1 << 30) : 0;
  if (n > 0 && k > kMaxResults / n) {
    throw Napi::RangeError::New(env, "search: queries × k exceeds " + std::to_string(kMaxResults) +
                                         " results; search in smaller batches");
  }
  auto state = state_;
  const float* data = q.Data();
  // Allocated on the pool thread: a result too big for this machine's memory is a rejected
  // promise (std::bad_alloc caught by the task), not an exception on the JS thread that ends
  // the process.
  auto distances = std::make_shared<std::vector<float>>();
  auto labels = std::make_shared<std::vector<int64_t>>();
  return AsyncTask::Run(
      env, "search",
      [state, n, k, nprobe, data, distances, labels] {
        distances->resize((size_t)(n * k));
        labels->resize((size_t)(n * k));
        std::shared_lock lock(state->mutex);
        RequireOpen(*state);
        if (n == 0) return;
        faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(state->index.get());
        if (ivf && nprobe > 0) {
          faiss::SearchParametersIVF params;
          params.nprobe = std::min<size_t>((size_t)nprobe, ivf->nlist);
          state->index->search(n, data, k, distances->data(), labels->data(), &params);
        } else {
          state->index->search(n, data, k, distances->data(), labels->data());
        }
      },
      [distances, labels, n, k](Napi::Env env) {
        Napi::Object result = Napi::Object::New(env);
        result.Set("distances", Napi::Float32Array::New(env, n * k, ExternalBuffer(env, Take(distances)), 0));
        result.Set("labels", Napi::TypedArrayOf<int64_t>::New(env, n * k, ExternalBuffer(env, Take(labels)), 0,
                                                             napi_bigint64_array));
        return result;
      },
      {q});
}

Napi::Value IndexWrap::ToBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  auto state = state_;
  auto bytes = std::make_shared<std::vector<uint8_t>>();
  return AsyncTask::Run(
      env, "toBuffer",
      [state, bytes] {
        std::shared_lock lock(state->mutex);
        RequireOpen(*state);
        *bytes = WriteIndexBuffer(*state->index);
      },
      [bytes](Napi::Env env) -> Napi::Value {
        std::vector<uint8_t>* owned = Take(bytes);
        return Napi::Buffer<uint8_t>::New(env, owned->data(), owned->size(),
                                          [](Napi::Env, uint8_t*, std::vector<uint8_t>* v) { delete v; },
                                          owned);
      });
}

Napi::Value IndexWrap::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  std::string path = ArgString(info, 0, "path");
  auto state = state_;
  return AsyncTask::Run(
      env, "write",
      [state, path] {
        std::shared_lock lock(state->mutex);
        RequireOpen(*state);
        WriteIndexFile(*state->index, path);
      },
      [](Napi::Env env) { return env.Undefined(); });
}

Napi::Value IndexWrap::Clone(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  auto state = state_;
  auto copy = std::make_shared<std::unique_ptr<faiss::Index>>();
  return AsyncTask::Run(
      env, "clone",
      [state, copy] {
        std::shared_lock lock(state->mutex);
        RequireOpen(*state);
        faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(state->index.get());
        if (ivf && dynamic_cast<faiss::OnDiskInvertedLists*>(ivf->invlists)) {
          throw CodedFailure("INVALID_ARGUMENT", "an on-disk index cannot be cloned; read it again instead");
        }
        // faiss 1.7.3's clone_index copies an HNSW quantizer (IVFn_HNSWm) as a bare IndexHNSW,
        // which write_index then refuses ("h != 0"): copy those through serialization instead.
        if (ivf && dynamic_cast<faiss::IndexHNSW*>(ivf->quantizer)) {
          std::vector<uint8_t> bytes = WriteIndexBuffer(*state->index);
          *copy = ReadIndexBuffer(bytes.data(), bytes.size());
        } else {
          copy->reset(faiss::clone_index(state->index.get()));
        }
      },
      [copy](Napi::Env env) -> Napi::Value {
        return IndexWrap::Wrap(env, std::move(*copy));
      });
}

Napi::Value IndexWrap::MergeFrom(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  if (info.Length() < 1 || !info[0].IsObject() ||
      !info[0].As<Napi::Object>().InstanceOf(Data(env)->indexConstructor.Value())) {
    throw Napi::TypeError::New(env, "mergeFrom: argument must be an index");
  }
  IndexWrap* other = Unwrap(info[0].As<Napi::Object>());
  other->EnsureOpen(env);
  if (other->state_ == state_) throw CodedError(env, "INVALID_ARGUMENT", "mergeFrom: cannot merge an index into itself");
  if (state_->info.readOnly || other->state_->info.readOnly) {
    throw CodedError(env, "INVALID_ARGUMENT", "mergeFrom: both indexes must be writable (not memory-mapped or on-disk)");
  }
  auto dst = state_;
  auto src = other->state_;
  return AsyncTask::Run(
      env, "mergeFrom",
      [dst, src] {
        std::unique_lock<std::shared_mutex> a(dst->mutex, std::defer_lock);
        std::unique_lock<std::shared_mutex> b(src->mutex, std::defer_lock);
        std::lock(a, b);
        RequireOpen(*dst);
        RequireOpen(*src);
        faiss::IndexIVF* to = faiss::ivflib::try_extract_index_ivf(dst->index.get());
        faiss::IndexIVF* from = faiss::ivflib::try_extract_index_ivf(src->index.get());
        if (!to || !from) {
          throw CodedFailure("INVALID_ARGUMENT", std::string("only IVF indexes can be merged, got ") +
                                   (to ? "" : "a non-IVF target") + (to || from ? "" : " and ") +
                                   (from ? "" : "a non-IVF source"));
        }
        // faiss moves the entries: the source is left empty, the ids are kept (add_id = 0).
        to->merge_from(*from, 0);
        dst->index->ntotal = to->ntotal;
        src->index->ntotal = from->ntotal;
        dst->Sync();
        src->Sync();
      },
      [](Napi::Env env) { return env.Undefined(); }, {info[0]});
}

Napi::Value IndexWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (state_->closed.exchange(true)) {
    auto done = Napi::Promise::Deferred::New(env);
    done.Resolve(env.Undefined());
    return done.Promise();
  }
  auto state = state_;
  return AsyncTask::Run(
      env, "close",
      [state] {
        std::unique_lock lock(state->mutex);
        state->index.reset();
        state->Sync();
      },
      [](Napi::Env env) { return env.Undefined(); });
}

Napi::Value IndexWrap::Describe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  // Read from the description taken when the handle was made (it never changes), so that
  // describe() never waits on a writer holding the index.
  const IndexInfo& d = state_->info;
  Napi::Object out = Napi::Object::New(env);
  out.Set("type", Napi::String::New(env, d.type));
  out.Set("metric", Napi::String::New(env, d.metric));
  if (d.nlist > 0) {
    out.Set("nlist", Napi::Number::New(env, (double)d.nlist));
    out.Set("codeSize", Napi::Number::New(env, (double)d.codeSize));
  }
  out.Set("readOnly", Napi::Boolean::New(env, d.readOnly));
  if (!d.onDiskDataFile.empty()) out.Set("onDiskDataFile", Napi::String::New(env, d.onDiskDataFile));
  return out;
}

}  // namespace reindex
