// Lines kept at stable addresses: the text of an appended line never moves
// while it is kept, so a view of it can be queued for another thread
// instead of a copy (docs/engine.md, "Throughput").
//
// Text is copied into blocks of 1 MiB (a longer line gets a block of its
// own size). Retire() ends what is kept now without freeing it: views of
// retired text stay valid until Recycle(), which puts the retired blocks
// back into use. Text retired with a ticket (Retire(until)) is put back
// into use by the first Recycle(reached) with reached >= until: so the
// text of several batches in flight, each retired with the number of its
// batch, is reused as each batch is done. Blocks are never returned to malloc
// before the arena is destroyed, so a run reuses the same memory instead of
// faulting in fresh pages for every batch.
//
// Not thread-safe: one thread appends; other threads may read the text of
// views while the appending thread keeps the rules above.
#ifndef CHATKPI_ENGINE_LINE_ARENA_H_
#define CHATKPI_ENGINE_LINE_ARENA_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace chatkpi {

class LineArena {
 public:
  static constexpr size_t kBlockBytes = size_t{1} << 20;

  // A copy of `text`, valid until the Recycle() after the next Retire() (or
  // the next Reset()).
  std::string_view Append(std::string_view text);
  // Bytes appended since the last Retire() or Reset().
  size_t bytes() const { return bytes_; }
  // Ends what is kept now; its views stay valid until Recycle(), or a
  // Recycle(reached) with reached >= `until`.
  void Retire(uint64_t until = 0);
  // Reuses the retired blocks: no view of retired text may be used anymore.
  void Recycle();
  // Reuses the blocks retired with `until` <= `reached` (tickets increase
  // with each Retire).
  void Recycle(uint64_t reached);
  // Retire() and Recycle(): no view of anything appended so far stays valid.
  void Reset() {
    Retire();
    Recycle();
  }

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    size_t capacity = 0;
  };
  // Makes the last kept block one with room for `n` more bytes.
  void NewBlock(size_t n);

  std::vector<Block> kept_;  // being appended to (the last one)
  struct Retired {
    uint64_t until = 0;
    std::vector<Block> blocks;
  };
  std::vector<Retired> retired_;  // views of them may still be in use
  std::vector<Block> free_;       // ready for reuse
  size_t used_ = 0;               // bytes of kept_.back() in use
  size_t bytes_ = 0;
};

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_LINE_ARENA_H_
