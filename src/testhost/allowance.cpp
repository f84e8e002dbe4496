// The test host's provider-like limits (see allowance.hpp).
#include "allowance.hpp"

namespace nullq::testhost {

std::int64_t Allowance::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_).count();
}

std::string Allowance::connect() {
  std::lock_guard lock(mu_);
  if (l_.connections && open_ >= l_.connections) {
    refused();
    return "421 4.7.0 Error: too many connections from 127.0.0.1";
  }
  ++open_;
  return {};
}

void Allowance::release() {
  std::lock_guard lock(mu_);
  if (open_) --open_;
}

std::string Allowance::message(unsigned index) {
  std::lock_guard lock(mu_);
  if (l_.per_connection && index > l_.per_connection) {
    refused();
    return "421 4.7.0 Error: too many messages in one connection";
  }
  const std::int64_t now = now_ms();
  // Fixed windows counted from the start, as Postfix's anvil counts.
  const std::int64_t qw = l_.quota_window.count() > 0 ? now / l_.quota_window.count() : 0;
  if (qw != quota_window_) {
    quota_window_ = qw;
    quota_count_ = 0;
  }
  if (l_.quota && quota_count_ >= l_.quota) {
    refused();
    return "550 5.4.5 Daily user sending limit exceeded";
  }
  const std::int64_t rw = l_.rate_window.count() > 0 ? now / l_.rate_window.count() : 0;
  if (rw != rate_window_) {
    rate_window_ = rw;
    rate_count_ = 0;
  }
  if (l_.rate && rate_count_ >= l_.rate) {
    refused();
    return "450 4.7.1 Error: too much mail from 127.0.0.1";
  }
  ++rate_count_;
  ++quota_count_;
  if (refusals_ > 0) taken_after_refusal_ = true;
  return {};
}

void Allowance::refused() {
  ++refusals_;
  if (!taken_after_refusal_) first_run_ = refusals_;
}

unsigned Allowance::first_run() const {
  std::lock_guard lock(mu_);
  return first_run_;
}

std::string Allowance::recipient(std::size_t accepted) const {
  if (l_.recipients == 0 || accepted < l_.recipients) return {};
  return l_.recipients_code == 552 ? "552 5.5.3 Too many recipients" : "452 4.5.3 Too many recipients";
}

unsigned Allowance::refusals() const {
  std::lock_guard lock(mu_);
  return refusals_;
}

}  // namespace nullq::testhost
