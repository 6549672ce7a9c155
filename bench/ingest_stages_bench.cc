// What bounds ingest: the same generated events put through ever
// more of the ingest path, each stage timed in CPU of the whole process (the
// RocksDB flush threads included), so that the difference between two
// stages is what the added step costs per event.
//
//   parse        validate every line into an Event (`chatkpi check`)
//   log          + append it to an event log of LZ4 blocks in a RocksDB of
//                  its own, one write per 100k events (the minimum a store
//                  that can be replayed writes)
//   log_and_ids  + the store's commit path instead: the id claimed for the
//                  redelivery check, the id index spilled, then the log
//   ingest       + the engine: state, counters and rows committed (what
//                  `chatkpi ingest` does, less reading the file)
// The last two parse one event ahead and prefetch for it, as `chatkpi
// ingest` does.
//
//   build/ingest_stages_bench [--benchmark_repetitions=3]
//   CHATKPI_BENCH_EVENTS=1000000 build/ingest_stages_bench  (the default)
//   CHATKPI_BENCH_SHUFFLE=1 build/ingest_stages_bench  (the month shuffled)
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/engine.h"
#include "engine/rules.h"
#include "ingest/event.h"
#include "ingest/event_parser.h"
#include "rocksdb/db.h"
#include "store/event_log.h"
#include "store/store.h"
#include "tools/generator.h"

namespace chatkpi {
namespace {

constexpr size_t kCommitEvents = 100'000;  // as `chatkpi ingest`

const std::vector<std::string>& Lines() {
  static const auto* lines = [] {
    GeneratorOptions gen;
    gen.seed = 1;
    gen.agents = 50;
    const char* n = std::getenv("CHATKPI_BENCH_EVENTS");
    gen.target_events = n != nullptr ? std::atoll(n) : 1'000'000;
    const char* shuffle = std::getenv("CHATKPI_BENCH_SHUFFLE");
    gen.shuffle = shuffle != nullptr && std::string_view(shuffle) == "1";
    auto generated = GenerateJsonl(gen);
    if (!generated.ok()) std::abort();
    return new std::vector<std::string>(std::move(*generated));
  }();
  return *lines;
}

std::string FreshDir(const char* stage) {
  static int round = 0;
  const std::string dir =
      (std::filesystem::temp_directory_path() /
       absl::StrCat("chatkpi_stages_", getpid(), "_", stage, round++))
          .string();
  std::filesystem::remove_all(dir);
  return dir;
}

// A stage's store goes, outside its time.
void RemoveUntimed(benchmark::State& state, const std::string& dir) {
  state.PauseTiming();
  std::filesystem::remove_all(dir);
  state.ResumeTiming();
}

// items_per_second is then events per second of the process's CPU.
void Report(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<int64_t>(Lines().size()) *
                          state.iterations());
}

void Parse(EventParser& parser, const std::string& line, Event* e) {
  if (!parser.Parse(line, e).ok()) std::abort();  // generated: all valid
}

// Parses each line one ahead of `apply`, handing it to `prefetch` first, as
// `chatkpi ingest` does (engine/file_ingest.cc): the misses of an event
// overlap the parsing of the next.
template <typename Prefetch, typename Apply>
void ParseAhead(const std::vector<std::string>& lines, Prefetch prefetch,
                Apply apply) {
  EventParser parser;
  Event ahead[2];
  for (size_t i = 0; i <= lines.size(); ++i) {
    if (i < lines.size()) {
      Parse(parser, lines[i], &ahead[i & 1]);
      prefetch(ahead[i & 1]);
    }
    if (i > 0) apply(ahead[(i - 1) & 1], lines[i - 1]);
  }
}

void BM_Parse(benchmark::State& state) {
  const auto& lines = Lines();
  EventParser parser;
  Event e;
  for (auto _ : state) {
    for (const std::string& l : lines) Parse(parser, l, &e);
  }
  Report(state);
}

void BM_Log(benchmark::State& state) {
  const auto& lines = Lines();
  for (auto _ : state) {
    const std::string dir = FreshDir("log");
    // The options the store gives its `events` family (store/store.cc).
    rocksdb::Options o;
    o.create_if_missing = true;
    o.max_background_jobs = 2;
    o.allow_concurrent_memtable_write = false;
    o.compression = rocksdb::kNoCompression;
    o.memtable_factory.reset(new rocksdb::VectorRepFactory());
    o.write_buffer_size = size_t{16} << 20;
    rocksdb::DB* raw = nullptr;
    const rocksdb::Status opened = rocksdb::DB::Open(o, dir, &raw);
    if (!opened.ok()) {
      state.SkipWithError(opened.ToString().c_str());
      break;
    }
    std::unique_ptr<rocksdb::DB> db(raw);
    EventParser parser;
    Event e;
    EventBlockWriter blocks;
    rocksdb::WriteBatch batch;
    uint64_t seq = 0;
    auto write = [&] {
      blocks.WriteTo(&batch, db->DefaultColumnFamily(), seq);
      seq += blocks.num_events();
      blocks.Clear();
      if (!db->Write(rocksdb::WriteOptions(), &batch).ok()) std::abort();
      batch.Clear();
    };
    for (const std::string& l : lines) {
      Parse(parser, l, &e);
      blocks.Append(e.id, l);
      if (blocks.num_events() == kCommitEvents) write();
    }
    write();
    db.reset();
    RemoveUntimed(state, dir);
  }
  Report(state);
}

void BM_LogAndIds(benchmark::State& state) {
  const auto& lines = Lines();
  for (auto _ : state) {
    const std::string dir = FreshDir("ids");
    auto store = Store::Open(dir, StoreOptions());
    if (!store.ok()) std::abort();
    {
      Commit commit(store->get());  // must not outlive the store
      ParseAhead(
          lines, [&](const Event& e) { commit.PrefetchEvent(e.id); },
          [&](const Event& e, const std::string& l) {
            if (!commit.AppendEvent(e.id, l).ok()) std::abort();
            if (commit.num_events() == kCommitEvents &&
                !(*store)->Write(&commit).ok()) {
              std::abort();
            }
          });
      if (!(*store)->Write(&commit).ok()) std::abort();
    }
    store->reset();
    RemoveUntimed(state, dir);
  }
  Report(state);
}

void BM_Ingest(benchmark::State& state) {
  const auto& lines = Lines();
  for (auto _ : state) {
    const std::string dir = FreshDir("ingest");
    auto store = Store::Open(dir, StoreOptions());
    if (!store.ok()) std::abort();
    auto engine = Engine::Open(*DefaultRules(), store->get());
    if (!engine.ok()) std::abort();
    Engine& en = **engine;
    ParseAhead(
        lines, [&](const Event& e) { en.Prefetch(e); },
        [&](const Event& e, const std::string& l) {
          if (!en.Apply(e, l).ok()) std::abort();
          if (en.pending() == kCommitEvents && !en.Commit().ok()) std::abort();
        });
    if (!(*engine)->Commit().ok()) std::abort();
    engine->reset();
    store->reset();
    RemoveUntimed(state, dir);
  }
  Report(state);
}

// Process CPU: RocksDB's flush threads are part of what a stage costs.
#define STAGE(fn)                                              \
  BENCHMARK(fn)->Iterations(1)->MeasureProcessCPUTime()->Unit( \
      benchmark::kMillisecond)
STAGE(BM_Parse);
STAGE(BM_Log);
STAGE(BM_LogAndIds);
STAGE(BM_Ingest);

}  // namespace
}  // namespace chatkpi

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  chatkpi::Lines();  // generated before the first stage is timed
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
