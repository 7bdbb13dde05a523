// A promise-returning AsyncWorker that runs one closure off the JS thread.
//
// The baton pattern: callers convert JS values to plain C++ data on the main thread, capture
// it in `work` (which must never touch JS), and build the JS result in `done` back on the
// main thread. Inputs that live in JS memory (typed arrays) are pinned with `keepAlive`
// references so the garbage collector cannot free them while `work` reads them.
#pragma once

#include <napi.h>

#include "errors.h"

#include <faiss/impl/FaissException.h>

#include <atomic>
#include <cerrno>
#include <exception>
#include <new>
#include <stdexcept>
#include <functional>
#include <string>
#include <vector>

namespace reindex {

// Applied at the start of every task: OpenMP thread counts are per-thread state, and the
// task runs on a libuv pool thread, so the count chosen by setThreads() is re-applied here.
void ApplyThreadSettings();

// Tasks queued or running native work, for a process that must not exit under them (exiting
// while OpenMP teams run tears faiss's statics down beneath them).
inline std::atomic<int>& TasksInFlight() {
  static std::atomic<int> count{0};
  return count;
}

class AsyncTask : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  using Done = std::function<Napi::Value(Napi::Env)>;

  static Napi::Promise Run(Napi::Env env, const char* name, Work work, Done done,
                           std::vector<Napi::Value> keepAlive = {}) {
    auto* task = new AsyncTask(env, name, std::move(work), std::move(done));
    for (auto& value : keepAlive) {
      if (value.IsObject()) task->pinned_.push_back(Napi::Persistent(value.As<Napi::Object>()));
    }
    Napi::Promise promise = task->deferred_.Promise();
    TasksInFlight().fetch_add(1);
    task->Queue();
    return promise;
  }

 protected:
  void Execute() override {
    // faiss reports a failed write or read in its message only; errno tells what the system
    // said (a full disk comes back once space is freed, a corrupt file does not).
    errno = 0;
    try {
      ApplyThreadSettings();
      work_();
    } catch (const CodedFailure& e) {
      Fail(e.code(), e.what());
    } catch (const std::bad_alloc& e) {
      Fail("OUT_OF_MEMORY", e.what());
    } catch (const faiss::FaissException& e) {
      const int error = errno;
      Fail(error == ENOSPC || error == EDQUOT || error == ENOMEM ? ErrnoCode(error) : "FAISS", e.what());
    } catch (const std::exception& e) {
      Fail("FAISS", e.what());
    } catch (...) {
      Fail("FAISS", "unknown native error");
    }
    TasksInFlight().fetch_sub(1);
  }

  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(done_(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (const std::exception& e) {
      deferred_.Reject(Napi::Error::New(env, std::string(name_) + ": " + e.what()).Value());
    }
  }

  void OnError(const Napi::Error& error) override {
    Napi::Object value = error.Value();
    value.Set("code", Napi::String::New(Env(), code_));
    deferred_.Reject(value);
  }

 private:
  AsyncTask(Napi::Env env, const char* name, Work work, Done done)
      : Napi::AsyncWorker(env, name),
        deferred_(Napi::Promise::Deferred::New(env)),
        name_(name),
        work_(std::move(work)),
        done_(std::move(done)) {}

  void Fail(const char* code, const char* what) {
    code_ = code;
    SetError(std::string(name_) + ": " + what);
  }

  Napi::Promise::Deferred deferred_;
  const char* name_;
  const char* code_ = "FAISS";
  Work work_;
  Done done_;
  std::vector<Napi::ObjectReference> pinned_;
};

}  // namespace reindex
