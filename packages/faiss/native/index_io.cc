#include "index_io.h"

#include "errors.h"

#include <faiss/IVFlib.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/FaissAssert.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <faiss/invlists/InvertedListsIOHook.h>
#include <faiss/invlists/OnDiskInvertedLists.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <mutex>

namespace reindex {
namespace {

// faiss reads an IVF index's lists eagerly unless IO_FLAG_SKIP_IVF_DATA is set; with that
// flag, plain array lists are handed to the hook whose fourcc is in the flag's upper bits.
// This hook reads them exactly as faiss's default path does, so we can pass SKIP_IVF_DATA
// for every file, which keeps faiss from mmapping on-disk lists at their recorded absolute
// path (we re-point them next to the index file first, then map them ourselves).
constexpr char kHookKey[] = "ilRX";

struct ArrayListsHook : faiss::InvertedListsIOHook {
  ArrayListsHook() : faiss::InvertedListsIOHook(kHookKey, "reindex::ArrayListsHook") {}

  void write(const faiss::InvertedLists*, faiss::IOWriter*) const override {
    FAISS_THROW_MSG("reindex ArrayListsHook never writes");
  }
  faiss::InvertedLists* read(faiss::IOReader*, int) const override {
    FAISS_THROW_MSG("reindex ArrayListsHook never reads a list of its own type");
  }
  faiss::InvertedLists* read_ArrayInvertedLists(faiss::IOReader* f, int, size_t nlist,
                                                size_t code_size,
                                                const std::vector<size_t>& sizes) const override {
    auto lists = std::make_unique<faiss::ArrayInvertedLists>(nlist, code_size);
    for (size_t i = 0; i < nlist; i++) {
      lists->ids[i].resize(sizes[i]);
      lists->codes[i].resize(sizes[i] * code_size);
    }
    for (size_t i = 0; i < nlist; i++) {
      size_t n = sizes[i];
      if (n == 0) continue;
      size_t got = (*f)(lists->codes[i].data(), code_size, n);
      FAISS_THROW_IF_NOT_FMT(got == n, "truncated inverted list %zu (codes)", i);
      got = (*f)(lists->ids[i].data(), sizeof(faiss::Index::idx_t), n);
      FAISS_THROW_IF_NOT_FMT(got == n, "truncated inverted list %zu (ids)", i);
    }
    return lists.release();
  }
};

int HookFlags() {
  static std::once_flag once;
  std::call_once(once, [] { faiss::InvertedListsIOHook::add_callback(new ArrayListsHook()); });
  int key = faiss::fourcc(kHookKey);
  return faiss::IO_FLAG_SKIP_IVF_DATA | (key & 0xffff0000);
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string DirOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string("./") : path.substr(0, slash + 1);
}

std::string BaseOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Maps the data file of an on-disk index that was read with SKIP_IVF_DATA. The data file is
// looked up beside the index file (the layout we publish); the recorded path is the fallback.
void MapOnDiskLists(faiss::Index* index, const std::string& indexPath) {
  faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(index);
  if (!ivf) return;
  auto* od = dynamic_cast<faiss::OnDiskInvertedLists*>(ivf->invlists);
  if (!od || od->totsize == 0) return;
  const bool mappedByFaiss = od->ptr != nullptr;  // the mmap read path maps lists itself
  // ... and array lists it maps out of the index file it read (no data file of their own).
  if (mappedByFaiss && od->filename.empty()) return;
  if (!mappedByFaiss) {
    std::string sibling = DirOf(indexPath) + BaseOf(od->filename);
    if (!indexPath.empty() && FileExists(sibling)) od->filename = sibling;
  }
  FAISS_THROW_IF_NOT_FMT(FileExists(od->filename),
                         "inverted-list data file %s of index %s does not exist",
                         od->filename.c_str(), indexPath.c_str());
  // A data file shorter than its lists (truncated download, copy cut short) would be mapped
  // and raise SIGBUS at the first search that reaches past its end: refuse it here.
  size_t needed = 0;
  const size_t entryBytes = od->code_size + sizeof(faiss::Index::idx_t);
  for (const auto& list : od->lists) needed = std::max(needed, list.offset + list.capacity * entryBytes);
  struct stat info;
  if (::stat(od->filename.c_str(), &info) != 0) throw SystemFailure(errno, "cannot stat " + od->filename);
  FAISS_THROW_IF_NOT_FMT((size_t)info.st_size >= needed && (size_t)info.st_size >= od->totsize,
                         "inverted-list data file %s has %lld bytes, its index %s needs %zu: the file is truncated",
                         od->filename.c_str(), (long long)info.st_size, indexPath.c_str(), std::max(needed, od->totsize));
  if (mappedByFaiss) return;
  // Published data files are immutable: map them read-only (works on read-only storage too).
  od->read_only = true;
  if (od->totsize > 0) od->do_mmap();
}

}  // namespace

std::unique_ptr<faiss::Index> ReadIndexFile(const std::string& path, bool mmap) {
  FAISS_THROW_IF_NOT_FMT(FileExists(path), "index file %s does not exist", path.c_str());
  // IO_FLAG_MMAP is itself a hook selector (faiss's on-disk hook maps array lists from the index
  // file), so it cannot be combined with ours; MapOnDiskLists checks either path's data file.
  int flags = mmap ? faiss::IO_FLAG_MMAP : HookFlags();
  std::unique_ptr<faiss::Index> index(faiss::read_index(path.c_str(), flags));
  MapOnDiskLists(index.get(), path);
  return index;
}

std::unique_ptr<faiss::Index> ReadIndexBuffer(const uint8_t* data, size_t size) {
  faiss::VectorIOReader reader;
  reader.data.assign(data, data + size);
  std::unique_ptr<faiss::Index> index(faiss::read_index(&reader, HookFlags()));
  MapOnDiskLists(index.get(), "");
  FAISS_THROW_IF_NOT_FMT(reader.rp == reader.data.size(),
                         "%zu trailing bytes after the index in the buffer",
                         reader.data.size() - reader.rp);
  return index;
}

std::vector<uint8_t> WriteIndexBuffer(const faiss::Index& index) {
  faiss::VectorIOWriter writer;
  faiss::write_index(&index, &writer);
  return std::move(writer.data);
}

void WriteIndexFile(const faiss::Index& index, const std::string& path) {
  faiss::write_index(&index, path.c_str());
}

namespace {

// A writable shared mapping of the output data file, unmapped (and flushed) on scope exit.
struct MappedOutput {
  uint8_t* ptr = nullptr;
  size_t size = 0;
  int fd = -1;
  MappedOutput(const std::string& path, size_t bytes) : size(bytes) {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) throw SystemFailure(errno, "cannot create " + path);
    if (bytes == 0) return;
    // Reserve the blocks now: writing through a shared mapping of a sparse file on a full disk
    // raises SIGBUS (the process dies); posix_fallocate says ENOSPC here instead.
    int reserved = ::posix_fallocate(fd, 0, (off_t)bytes);
    if (reserved != 0) {
      // The destructor does not run for a constructor that throws: close and remove here.
      ::close(fd);
      fd = -1;
      ::unlink(path.c_str());
      throw SystemFailure(reserved, "cannot reserve " + std::to_string(bytes) + " bytes for " + path);
    }
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      int error = errno;
      ::close(fd);
      fd = -1;
      throw SystemFailure(error, "cannot map " + path);
    }
    ptr = static_cast<uint8_t*>(p);
  }
  ~MappedOutput() {
    if (ptr) ::munmap(ptr, size);
    if (fd >= 0) ::close(fd);
  }
};

// Opens a part with its lists memory-mapped and checks it can merge into `into`.
std::unique_ptr<faiss::Index> OpenPart(const std::string& part, const faiss::IndexIVF& into,
                                       const std::string& trainedPath, faiss::IndexIVF** ivfOut) {
  std::unique_ptr<faiss::Index> sub = ReadIndexFile(part, true);
  faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(sub.get());
  FAISS_THROW_IF_NOT_FMT(ivf, "%s is not an IVF index", part.c_str());
  try {
    into.check_compatible_for_merge(*ivf);
  } catch (const faiss::FaissException& e) {
    FAISS_THROW_FMT("%s cannot merge into %s: %s", part.c_str(), trainedPath.c_str(), e.what());
  }
  *ivfOut = ivf;
  return sub;
}

}  // namespace

OnDiskMergeResult MergeOnDisk(const std::string& trainedPath, const std::vector<std::string>& parts,
                              const std::string& outIndexPath, const std::string& dataPath) {
  std::unique_ptr<faiss::Index> merged = ReadIndexFile(trainedPath, false);
  faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(merged.get());
  FAISS_THROW_IF_NOT_FMT(ivf, "%s is not an IVF index: only IVF indexes merge on disk",
                         trainedPath.c_str());
  FAISS_THROW_IF_NOT_FMT(ivf->ntotal == 0, "%s must be the trained empty index, it holds %lld",
                         trainedPath.c_str(), (long long)ivf->ntotal);
  const size_t nlist = ivf->nlist;
  const size_t codeSize = ivf->code_size;
  const size_t entryBytes = codeSize + sizeof(faiss::Index::idx_t);

  // Pass 1: list sizes. Parts are opened one at a time with their lists memory-mapped, so
  // memory holds one part's quantizer at most, whatever the number of parts.
  std::vector<size_t> sizes(nlist, 0);
  for (const std::string& part : parts) {
    faiss::IndexIVF* sub = nullptr;
    auto holder = OpenPart(part, *ivf, trainedPath, &sub);
    for (size_t j = 0; j < nlist; j++) sizes[j] += sub->invlists->list_size(j);
  }

  // The layout of faiss::OnDiskInvertedLists: list j holds its codes, then its ids, at
  // lists[j].offset; lists are packed with no free slots.
  auto onDisk = std::make_unique<faiss::OnDiskInvertedLists>();
  onDisk->nlist = nlist;
  onDisk->code_size = codeSize;
  onDisk->filename = dataPath;
  onDisk->lists.resize(nlist);
  size_t total = 0;
  int64_t ntotal = 0;
  for (size_t j = 0; j < nlist; j++) {
    onDisk->lists[j].size = onDisk->lists[j].capacity = sizes[j];
    onDisk->lists[j].offset = total;
    total += sizes[j] * entryBytes;
    ntotal += (int64_t)sizes[j];
  }

  // Pass 2: copy each part's lists into place through a shared mapping of the data file.
  {
    MappedOutput out(dataPath, total);
    std::vector<size_t> filled(nlist, 0);
    for (const std::string& part : parts) {
      faiss::IndexIVF* sub = nullptr;
      auto holder = OpenPart(part, *ivf, trainedPath, &sub);
      const faiss::InvertedLists* lists = sub->invlists;
#pragma omp parallel for schedule(dynamic, 64)
      for (size_t j = 0; j < nlist; j++) {
        size_t n = lists->list_size(j);
        if (n == 0) continue;
        const auto& dst = onDisk->lists[j];
        faiss::InvertedLists::ScopedCodes codes(lists, j);
        faiss::InvertedLists::ScopedIds ids(lists, j);
        memcpy(out.ptr + dst.offset + filled[j] * codeSize, codes.get(), n * codeSize);
        memcpy(out.ptr + dst.offset + dst.capacity * codeSize + filled[j] * sizeof(faiss::Index::idx_t),
               ids.get(), n * sizeof(faiss::Index::idx_t));
        filled[j] += n;
      }
    }
    if (total > 0) {
      if (::msync(out.ptr, total, MS_SYNC) != 0) throw SystemFailure(errno, "cannot flush " + dataPath);
    }
  }

  onDisk->totsize = total;
  onDisk->read_only = true;
  if (total > 0) onDisk->do_mmap();
  ivf->replace_invlists(onDisk.release(), true);
  ivf->ntotal = ntotal;
  merged->ntotal = ntotal;
  WriteIndexFile(*merged, outIndexPath);
  return {ntotal, (uint64_t)total};
}

}  // namespace reindex
