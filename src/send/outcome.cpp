// Per-recipient results of one attempt (see include/nullq/send/outcome.hpp).
#include "nullq/send/outcome.hpp"

#include "nullq/throttle_reply.hpp"

namespace nullq::send {

void too_many_is_temporary(std::vector<proto::Reply>& replies) {
  for (auto& r : replies)
    if (r.verdict == proto::Verdict::permanent && proto::too_many_recipients(r.text)) r.verdict = proto::Verdict::temporary;
}

Split split_replies(const std::vector<std::string>& recipients, const std::vector<proto::Reply>& replies) {
  Split s;
  bool took = false;
  for (std::size_t i = 0; i < recipients.size() && i < replies.size(); ++i) took = took || replies[i].verdict == proto::Verdict::ok;
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    if (i >= replies.size()) {
      s.remaining.push_back(recipients[i]);
      s.last_temporary_text = "no answer for this recipient";
      continue;
    }
    const proto::Reply& r = replies[i];
    switch (r.verdict) {
      case proto::Verdict::ok:
        s.delivered.push_back(recipients[i]);
        break;
      case proto::Verdict::permanent:
        s.bounced.emplace_back(recipients[i], r.text);
        break;
      case proto::Verdict::temporary:
        if (took && proto::too_many_recipients(r.text)) {
          s.next_transaction.push_back(recipients[i]);
          break;
        }
        s.remaining.push_back(recipients[i]);
        s.last_temporary_text = r.text;
        break;
    }
  }
  return s;
}

std::vector<Group> group_replies(const std::vector<proto::Reply>& replies) {
  // A hostile server may give every recipient a different text: past 64 groups, a new text is
  // folded into the first group with the same verdict, so the log stays bounded.
  constexpr std::size_t max_groups = 64;
  std::vector<Group> groups;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    const proto::Reply& r = replies[i];
    Group* match = nullptr;
    for (auto& g : groups) {
      if (g.verdict == r.verdict && g.text == r.text) {
        match = &g;
        break;
      }
    }
    if (!match && groups.size() >= max_groups) {
      for (auto& g : groups) {
        if (g.verdict == r.verdict) {
          match = &g;
          break;
        }
      }
    }
    if (match) {
      ++match->count;
      match->recipients.push_back(i);
    } else {
      groups.push_back(Group{r.verdict, r.text, 1, {i}});
    }
  }
  return groups;
}

std::string format_summary(const Summary& s) {
  auto n = [](std::uint64_t v, const char* one, const char* many) {
    return std::to_string(v) + " " + (v == 1 ? one : many);
  };
  const std::uint64_t total = s.delivered + s.bounced + s.deferred;
  std::string out = n(total, "recipient", "recipients") + ": " + std::to_string(s.delivered) + " delivered, " +
                    std::to_string(s.bounced) + " bounced, " + std::to_string(s.deferred) + " deferred; " +
                    n(s.bounces_sent, "bounce sent", "bounces sent");
  if (s.left > s.deferred_messages) {
    out += "; " + n(s.left - s.deferred_messages, "message not yet due", "messages not yet due");
  }
  return out;
}

std::string human_duration(long long seconds) {
  if (seconds < 0) seconds = 0;
  long long d = seconds / 86400, h = (seconds % 86400) / 3600, m = (seconds % 3600) / 60, s = seconds % 60;
  std::string out;
  auto add = [&](long long v, const char* unit) {
    if (!out.empty()) out += ' ';
    out += std::to_string(v);
    out += unit;
  };
  if (d) {
    add(d, "d");
    if (h) add(h, "h");
  } else if (h) {
    add(h, "h");
    if (m) add(m, "m");
  } else if (m) {
    add(m, "m");
    if (s) add(s, "s");
  } else {
    add(s, "s");
  }
  return out;
}

}  // namespace nullq::send
