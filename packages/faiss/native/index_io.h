// Reading and merging faiss indexes without faiss's side effects on stdout.
#pragma once

#include <faiss/Index.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace reindex {

// Reads an index file. `mmap` maps the inverted lists of a plain IVF index from the file
// instead of loading them (read-only). An on-disk index (OnDiskInvertedLists) always finds
// its data file beside the index file, as faiss's IO_FLAG_ONDISK_SAME_DIR does, but without
// the message faiss prints to stdout on that path (stdout carries our CLI's JSON).
std::unique_ptr<faiss::Index> ReadIndexFile(const std::string& path, bool mmap);

std::unique_ptr<faiss::Index> ReadIndexBuffer(const uint8_t* data, size_t size);

std::vector<uint8_t> WriteIndexBuffer(const faiss::Index& index);

void WriteIndexFile(const faiss::Index& index, const std::string& path);

struct OnDiskMergeResult {
  int64_t ntotal;
  uint64_t dataBytes;
};

// Merges the inverted lists of many IVF sub-indexes (files, all cloned from `trainedPath`)
// into one index whose lists live in `dataPath` (faiss OnDiskInvertedLists). Sub-indexes are
// memory-mapped, never loaded, so memory does not grow with their number or size.
OnDiskMergeResult MergeOnDisk(const std::string& trainedPath, const std::vector<std::string>& parts,
                              const std::string& outIndexPath, const std::string& dataPath);

}  // namespace reindex
