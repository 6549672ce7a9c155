// Faults injected under the store's files, for tests of what a failing disk
// does to chatkpi: writes that fail as a full disk (ENOSPC) once a byte
// budget is spent, or that all fail with an I/O error while a flag is set;
// and, for readers beside a writer, a table file that vanishes as the
// writer's compaction deletes it, or the writer's flush in the middle of
// an open.
// Give one to StoreOptions::fault_injection; it sits between RocksDB and the
// real file system (a rocksdb::FileSystemWrapper), so WAL, SST, MANIFEST and
// CURRENT writes all go through it. Thread-safe: RocksDB writes SSTs from
// background threads.
//
//   auto faults = std::make_shared<FaultInjection>();
//   StoreOptions so;
//   so.fault_injection = faults;
//   faults->FailWritesAfter(1 << 20);  // the disk fills after 1 MiB more
#ifndef CHATKPI_STORE_FAULT_INJECTION_H_
#define CHATKPI_STORE_FAULT_INJECTION_H_

#include <cstdint>
#include <functional>
#include <memory>

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace chatkpi {

class FaultInjection {
 public:
  FaultInjection();
  ~FaultInjection();
  FaultInjection(const FaultInjection&) = delete;
  FaultInjection& operator=(const FaultInjection&) = delete;

  // After `bytes` more bytes, writes fail with "No space left on device".
  // The write that crosses the budget stores the part that fits, as a real
  // full disk does, so the file ends in a torn record.
  void FailWritesAfter(int64_t bytes);
  // While set, every write, sync and file creation fails with an I/O error.
  void SetFailWrites(bool fail);
  // The table file opened `skip` opens from now is missing once ("No such
  // file or directory"), as when a writer beside a read-only open deletes
  // it between the reader's reading of the MANIFEST and its opening the
  // file. Only table files (.sst) count.
  void LoseTableOpen(int64_t skip);
  // Runs `writer` just before the directory listing `skip` listings from
  // now: what a writer beside a reader does between the reader's reading
  // of the MANIFEST and its listing of the WALs (RocksDB lists the
  // directory right after it reads the MANIFEST).
  void RunAtListing(int64_t skip, std::function<void()> writer);
  // The disk has room again and works.
  void Clear();

  int64_t table_opens() const;  // table files opened for reading so far
  int64_t listings() const;     // directories listed so far

  int64_t bytes_written() const;  // through this object, since creation
  int64_t failures() const;       // writes refused so far

  // For the store: the Env to open RocksDB with. Lives as long as this.
  rocksdb::Env* env();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatkpi

#endif  // CHATKPI_STORE_FAULT_INJECTION_H_
