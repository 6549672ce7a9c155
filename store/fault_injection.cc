#include "store/fault_injection.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace chatkpi {
namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

struct State {
  std::atomic<int64_t> budget{-1};  // bytes left; -1 = no limit
  std::atomic<bool> fail{false};
  std::atomic<int64_t> written{0};
  std::atomic<int64_t> failures{0};
  std::atomic<int64_t> table_opens{0};
  std::atomic<int64_t> lost_table_open{-1};  // the open that fails; -1: none
  std::mutex listing_mu;
  int64_t listings = 0;
  int64_t listing_hook_at = -1;
  std::function<void()> listing_hook;

  // The hook due at this listing, if any.
  std::function<void()> NextListing() {
    std::lock_guard lock(listing_mu);
    std::function<void()> hook;
    if (listings++ == listing_hook_at) hook = std::move(listing_hook);
    return hook;
  }

  // How many of `n` bytes may be written; not OK when fewer than n.
  IOStatus Charge(size_t n, size_t* allowed) {
    *allowed = 0;
    if (fail.load()) {
      ++failures;
      return IOStatus::IOError("injected I/O error");
    }
    int64_t b = budget.load();
    while (true) {
      if (b < 0) {
        *allowed = n;
        break;
      }
      const int64_t take = std::min<int64_t>(b, static_cast<int64_t>(n));
      if (budget.compare_exchange_weak(b, b - take)) {
        *allowed = static_cast<size_t>(take);
        break;
      }
    }
    written += static_cast<int64_t>(*allowed);
    if (*allowed < n) {
      ++failures;
      return IOStatus::NoSpace("injected", "No space left on device");
    }
    return IOStatus::OK();
  }

  IOStatus CheckFlag() {
    if (!fail.load()) return IOStatus::OK();
    ++failures;
    return IOStatus::IOError("injected I/O error");
  }
};

class FaultyFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyFile(std::unique_ptr<rocksdb::FSWritableFile> f, State* state)
      : FSWritableFileOwnerWrapper(std::move(f)), state_(state) {}

  IOStatus Append(const Slice& data, const IOOptions& o,
                  IODebugContext* dbg) override {
    size_t allowed;
    IOStatus s = state_->Charge(data.size(), &allowed);
    if (allowed > 0) {
      IOStatus w = target()->Append(Slice(data.data(), allowed), o, dbg);
      if (!w.ok()) return w;
    }
    return s;
  }
  IOStatus Append(const Slice& data, const IOOptions& o,
                  const rocksdb::DataVerificationInfo&,
                  IODebugContext* dbg) override {
    return Append(data, o, dbg);
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset,
                            const IOOptions& o, IODebugContext* dbg) override {
    size_t allowed;
    IOStatus s = state_->Charge(data.size(), &allowed);
    if (allowed > 0) {
      IOStatus w = target()->PositionedAppend(Slice(data.data(), allowed),
                                              offset, o, dbg);
      if (!w.ok()) return w;
    }
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset,
                            const IOOptions& o,
                            const rocksdb::DataVerificationInfo&,
                            IODebugContext* dbg) override {
    return PositionedAppend(data, offset, o, dbg);
  }
  IOStatus Sync(const IOOptions& o, IODebugContext* dbg) override {
    IOStatus s = state_->CheckFlag();
    return s.ok() ? target()->Sync(o, dbg) : s;
  }
  IOStatus Fsync(const IOOptions& o, IODebugContext* dbg) override {
    IOStatus s = state_->CheckFlag();
    return s.ok() ? target()->Fsync(o, dbg) : s;
  }
  IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const IOOptions& o,
                     IODebugContext* dbg) override {
    IOStatus s = state_->CheckFlag();
    return s.ok() ? target()->RangeSync(offset, nbytes, o, dbg) : s;
  }

 private:
  State* state_;
};

class FaultyFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FaultyFileSystem(const std::shared_ptr<rocksdb::FileSystem>& base,
                   State* state)
      : FileSystemWrapper(base), state_(state) {}

  static const char* kClassName() { return "ChatkpiFaultInjection"; }
  const char* Name() const override { return kClassName(); }

  IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& fo,
                           std::unique_ptr<rocksdb::FSWritableFile>* r,
                           IODebugContext* dbg) override {
    return Wrap(target()->NewWritableFile(f, fo, r, dbg), r);
  }
  IOStatus ReopenWritableFile(const std::string& f,
                              const rocksdb::FileOptions& fo,
                              std::unique_ptr<rocksdb::FSWritableFile>* r,
                              IODebugContext* dbg) override {
    return Wrap(target()->ReopenWritableFile(f, fo, r, dbg), r);
  }
  IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                             const rocksdb::FileOptions& fo,
                             std::unique_ptr<rocksdb::FSWritableFile>* r,
                             IODebugContext* dbg) override {
    return Wrap(target()->ReuseWritableFile(f, old, fo, r, dbg), r);
  }
  IOStatus NewRandomAccessFile(const std::string& f,
                               const rocksdb::FileOptions& fo,
                               std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
                               IODebugContext* dbg) override {
    if (f.ends_with(".sst") &&
        state_->table_opens++ == state_->lost_table_open.load()) {
      // RocksDB's own wording for a missing file, which callers match.
      return IOStatus::PathNotFound("While open a file for random read: " + f +
                                    ": No such file or directory");
    }
    return target()->NewRandomAccessFile(f, fo, r, dbg);
  }
  IOStatus GetChildren(const std::string& dir, const IOOptions& o,
                       std::vector<std::string>* r,
                       IODebugContext* dbg) override {
    if (std::function<void()> hook = state_->NextListing()) hook();
    return target()->GetChildren(dir, o, r, dbg);
  }
  IOStatus RenameFile(const std::string& src, const std::string& dst,
                      const IOOptions& o, IODebugContext* dbg) override {
    IOStatus s = state_->CheckFlag();
    return s.ok() ? target()->RenameFile(src, dst, o, dbg) : s;
  }

 private:
  IOStatus Wrap(IOStatus s, std::unique_ptr<rocksdb::FSWritableFile>* r) {
    if (!s.ok()) return s;
    IOStatus flag = state_->CheckFlag();
    if (!flag.ok()) {
      r->reset();
      return flag;
    }
    *r = std::make_unique<FaultyFile>(std::move(*r), state_);
    return s;
  }

  State* state_;
};

}  // namespace

struct FaultInjection::Impl {
  State state;
  std::unique_ptr<rocksdb::Env> env;
};

FaultInjection::FaultInjection() : impl_(std::make_unique<Impl>()) {
  auto fs = std::make_shared<FaultyFileSystem>(rocksdb::FileSystem::Default(),
                                               &impl_->state);
  impl_->env = rocksdb::NewCompositeEnv(fs);
}

FaultInjection::~FaultInjection() = default;

void FaultInjection::FailWritesAfter(int64_t bytes) {
  impl_->state.budget.store(std::max<int64_t>(bytes, 0));
}

void FaultInjection::SetFailWrites(bool fail) { impl_->state.fail.store(fail); }

void FaultInjection::LoseTableOpen(int64_t skip) {
  impl_->state.lost_table_open.store(impl_->state.table_opens.load() + skip);
}

void FaultInjection::RunAtListing(int64_t skip, std::function<void()> writer) {
  std::lock_guard lock(impl_->state.listing_mu);
  impl_->state.listing_hook_at = impl_->state.listings + skip;
  impl_->state.listing_hook = std::move(writer);
}

void FaultInjection::Clear() {
  impl_->state.budget.store(-1);
  impl_->state.fail.store(false);
  impl_->state.lost_table_open.store(-1);
  std::lock_guard lock(impl_->state.listing_mu);
  impl_->state.listing_hook = nullptr;
}

int64_t FaultInjection::listings() const {
  std::lock_guard lock(impl_->state.listing_mu);
  return impl_->state.listings;
}

int64_t FaultInjection::table_opens() const {
  return impl_->state.table_opens.load();
}

int64_t FaultInjection::bytes_written() const {
  return impl_->state.written.load();
}
int64_t FaultInjection::failures() const {
  return impl_->state.failures.load();
}

rocksdb::Env* FaultInjection::env() { return impl_->env.get(); }

}  // namespace chatkpi
