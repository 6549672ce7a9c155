#include "store/id_filter.h"

#include <sys/mman.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>

#include "absl/strings/str_cat.h"
#include "store/coding.h"
#include "store/stable_hash.h"

namespace chatkpi {
namespace {

constexpr int kProbes = 4;  // ~1% false "maybe" at 12M ids in 2^27 bits

// Blocked: all probes of an id fall in one 64-byte block (one cache miss
// per id instead of one per probe), at a slightly higher false rate.
struct Probes {
  uint64_t block;  // index of the first of 8 words
  uint64_t bits;   // 4 x 9 bits: positions inside the 512-bit block
  Probes(uint64_t h, uint64_t mask) {
    block = ((h & mask) >> 9) << 3;
    bits = h >> 28;
  }
  uint64_t Word(int i) const { return block + ((bits >> (9 * i + 6)) & 7); }
  uint64_t Bit(int i) const { return uint64_t{1} << ((bits >> (9 * i)) & 63); }
};

constexpr char kMagic[8] = {'c', 'k', 'i', 'd', 'f', 'l', 't', '1'};

}  // namespace

void IdFilter::Unmap::operator()(uint64_t*) const { munmap(base, length); }

IdFilter::IdFilter(int log2_bits)
    : mask_((uint64_t{1} << log2_bits) - 1), log2_bits_(log2_bits) {
  // Every probe is a random cache line of 16 MiB: on 4 KiB pages nearly
  // each one would also miss the TLB, so ask for huge pages, aligned to
  // them (the kernel may decline; then this is only alignment). A fresh
  // anonymous mapping reads as zeros and is zeroed page by page as probes
  // first touch it, on the threads that apply events: clearing all of it
  // here cost ~30 ms on the serial start of every writer, before its first
  // event (docs/engine.md, "Throughput").
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t bytes = size_t{1} << (log2_bits - 3);
  const size_t length = bytes + kHugePage;
  void* base = mmap(nullptr, length, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t at = (reinterpret_cast<uintptr_t>(base) + kHugePage - 1) &
                       ~(uintptr_t{kHugePage} - 1);
  words_ = std::unique_ptr<uint64_t[], Unmap>(reinterpret_cast<uint64_t*>(at),
                                              Unmap{base, length});
  if (bytes >= kHugePage) madvise(words_.get(), bytes, MADV_HUGEPAGE);
}

uint64_t IdFilter::Hash(std::string_view id) { return StableHash(id); }

uint64_t IdFilter::Checksum() const {
  // Four lanes, so that the multiplies overlap; 16 MiB in a few ms.
  uint64_t lane[4] = {1, 2, 3, 4};
  const size_t words = bytes() / 8;
  for (size_t i = 0; i + 4 <= words; i += 4) {
    for (int j = 0; j < 4; ++j) lane[j] = Mix64(lane[j] ^ words_[i + j]);
  }
  return Mix64(lane[0] ^ Mix64(lane[1] ^ Mix64(lane[2] ^ Mix64(lane[3]))));
}

// Layout: magic(8) log2_bits(4) label_size(4) label checksum(8) words; the
// checksum is of everything else.
absl::Status IdFilter::Save(const std::string& path,
                            std::string_view label) const {
  std::string head(kMagic, sizeof(kMagic));
  PutFixed32BE(&head, static_cast<uint32_t>(log2_bits_));
  PutFixed32BE(&head, static_cast<uint32_t>(label.size()));
  head.append(label);
  PutFixed64BE(&head, Checksum() ^ Hash(head));
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(head.data(), static_cast<std::streamsize>(head.size()));
    out.write(reinterpret_cast<const char*>(words_.get()),
              static_cast<std::streamsize>(bytes()));
    out.close();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot rename ", tmp, ": ", ec.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<IdFilter>> IdFilter::Load(
    const std::string& path, std::string* label) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("no ", path));
  auto damaged = [&] {
    return absl::DataLossError(absl::StrCat(path, " is damaged"));
  };
  char fixed[16];
  if (!in.read(fixed, sizeof(fixed)) ||
      std::memcmp(fixed, kMagic, sizeof(kMagic)) != 0) {
    return damaged();
  }
  std::string_view rest(fixed + sizeof(kMagic), 8);
  uint32_t log2_bits = 0, label_size = 0;
  GetFixed32BE(&rest, &log2_bits);
  GetFixed32BE(&rest, &label_size);
  if (log2_bits < 12 || log2_bits > 34 || label_size > 4096) return damaged();
  label->resize(label_size);
  char sum[8];
  if (!in.read(label->data(), label_size) || !in.read(sum, sizeof(sum))) {
    return damaged();
  }
  // The checksum covers the header too: a label that read a larger seq
  // than the filter covers would make it answer "absent" wrongly.
  const std::string head = std::string(fixed, sizeof(fixed)) + *label;
  auto filter = std::make_unique<IdFilter>(static_cast<int>(log2_bits));
  std::string_view sum_bytes(sum, sizeof(sum));
  uint64_t checksum = 0;
  GetFixed64BE(&sum_bytes, &checksum);
  if (!in.read(reinterpret_cast<char*>(filter->words_.get()),
               static_cast<std::streamsize>(filter->bytes())) ||
      in.peek() != std::char_traits<char>::eof() ||
      (filter->Checksum() ^ Hash(head)) != checksum) {
    return damaged();
  }
  return filter;
}

void IdFilter::Clear() { std::memset(words_.get(), 0, bytes()); }

void IdFilter::Prefetch(uint64_t hash) const {
  __builtin_prefetch(&words_[Probes(hash, mask_).block], 1);
}

bool IdFilter::AddAndTest(uint64_t hash) {
  const Probes p(hash, mask_);
  bool present = true;
  for (int i = 0; i < kProbes; ++i) {
    uint64_t& w = words_[p.Word(i)];
    present &= (w & p.Bit(i)) != 0;
    w |= p.Bit(i);
  }
  return present;
}

bool IdFilter::MayContain(uint64_t hash) const {
  const Probes p(hash, mask_);
  for (int i = 0; i < kProbes; ++i) {
    if ((words_[p.Word(i)] & p.Bit(i)) == 0) return false;
  }
  return true;
}

}  // namespace chatkpi
