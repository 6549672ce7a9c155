// C11 thrd_create/thrd_join for ThreadSanitizer builds only
// (-DCHATKPI_SANITIZE=thread, .ci/tsan.sh; docs/hardening.md). Linked into
// the executables of that build, never into a normal one.
//
// Debian's librdkafka starts its threads with glibc's C11 thrd_create,
// which calls glibc's internal pthread_create, which TSan does not
// intercept (GCC 12's libtsan has no C11-thread interceptors;
// google/sanitizers#1195, #1603). Such a thread runs unknown to TSan and
// its first malloc crashes the process ("ThreadSanitizer: SEGV on unknown
// address", in thread rdk:main / rdk:mock / rdk:brokerN).
//
// Defined in the executable, these two take precedence over glibc's for
// every library (librdkafka's versioned references, thrd_create@GLIBC_2.34,
// bind to an unversioned definition in the executable), and go through the
// public pthread_create/pthread_join that TSan intercepts: the thread is
// registered, its start and join order it after its creator and before its
// joiner, and chatkpi code that runs on it (callbacks) is checked.
//
// librdkafka's mtx_*/cnd_* stay glibc's, i.e. unseen, on purpose: the
// library is a black box to TSan (.ci/tsan.supp, called_from_lib), so that
// its internal hand-offs, done with uninstrumented atomics and reference
// counts, are neither half seen nor reported.
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <threads.h>

#include <new>

static_assert(sizeof(thrd_t) == sizeof(pthread_t));

namespace {

// glibc's thrd_err_map.
int FromErrno(int err) {
  switch (err) {
    case 0:
      return thrd_success;
    case ENOMEM:
      return thrd_nomem;
    case ETIMEDOUT:
      return thrd_timedout;
    case EBUSY:
      return thrd_busy;
    default:
      return thrd_error;
  }
}

struct Start {
  thrd_start_t func;
  void* arg;
};

void* RunThread(void* p) {
  Start start = *static_cast<Start*>(p);
  delete static_cast<Start*>(p);
  return reinterpret_cast<void*>(static_cast<intptr_t>(start.func(start.arg)));
}

}  // namespace

extern "C" {

int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  Start* start = new (std::nothrow) Start{func, arg};
  if (start == nullptr) return thrd_nomem;
  const int err = pthread_create(thr, nullptr, RunThread, start);
  if (err != 0) delete start;
  return FromErrno(err);
}

int thrd_join(thrd_t thr, int* res) {
  void* ret = nullptr;
  const int err = pthread_join(thr, &ret);
  if (err == 0 && res != nullptr) {
    *res = static_cast<int>(reinterpret_cast<intptr_t>(ret));
  }
  return FromErrno(err);
}

}  // extern "C"
