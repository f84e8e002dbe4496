// The config's limits applied again to drops from users (see IntakePolicy in include/nullq/spool.hpp).
#include <algorithm>

#include "nullq/spool.hpp"

namespace nullq::spool {

bool IntakePolicy::trusts(std::int64_t uid) const {
  return uid >= 0 && std::find(trusted.begin(), trusted.end(), static_cast<uid_t>(uid)) != trusted.end();
}

IntakeVerdict judge_drop(const IntakePolicy& policy, envelope::Envelope& env, uid_t owner, std::uint64_t message_size,
                         std::uint64_t max) {
  // No U record: the daemon's own bounces (nullq-queue always records the real uid), judged by owner.
  const bool recorded_ok = env.uid < 0 || policy.trusts(env.uid);
  if (recorded_ok && policy.trusts(owner)) return {};
  // The uid to name: the recorded one when it is the untrusted one, else the file's owner.
  const std::int64_t uid = recorded_ok ? static_cast<std::int64_t>(owner) : env.uid;
  // First the sender sendmail would have set: a removed drop's bounce goes there too.
  bool rewritten = false;
  if (!policy.rewrite_sender.empty() && env.sender != policy.rewrite_sender) {
    env.sender = policy.rewrite_sender;
    rewritten = true;
  }
  if (message_size > max)
    return {IntakeVerdict::Action::remove, "message of " + std::to_string(message_size) + " bytes from uid " +
                                               std::to_string(uid) + " exceeds queue.max_message_size of " +
                                               std::to_string(max) + " bytes; removed"};
  if (rewritten) return {IntakeVerdict::Action::rewrite, {}};
  return {};
}

}  // namespace nullq::spool
