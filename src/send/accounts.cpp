// The flusher's OAuth accounts and held smart hosts (see flusher_impl.hpp, tokens.hpp,
// host_hold.hpp).
#include "flusher_impl.hpp"

namespace nullq::send {

void Flusher::make_tokens(SmtpSetup& setup) {
  tokens_.clear();
  std::erase_if(all_tokens_, [](const std::weak_ptr<TokenManager>& w) { return w.expired(); });
  for (const auto& h : cfg_.smarthosts) {
    if (!h.is_smtp() || h.oauth.flow == config::OAuthFlow::none) continue;
    auto m = TokenManager::make(loop_->get(), token_settings(cfg_, h),
                                [](Priority p, const std::string& line) { log_line(p, line); });
    all_tokens_.push_back(m);
    // With mail waiting, the first token is asked for now, so that the helper's run (a process,
    // an HTTPS request: tens of milliseconds) overlaps the start-up and the first connections
    // instead of holding up their AUTH. Without mail nothing is asked until a message needs it.
    if (sched_.size() > 0) m->get([](Result<client::TokenSource::Token>) {});
    tokens_[h.text] = std::move(m);
  }
  // By value: connections made before a reload keep the accounts they started with.
  setup.tokens = [tokens = tokens_](const config::SmartHost& h) -> std::shared_ptr<client::TokenSource> {
    auto it = tokens.find(h.text);
    return it == tokens.end() ? nullptr : it->second;
  };
}

void Flusher::close_tokens() {
  tokens_.clear();
  for (auto& w : all_tokens_)
    if (auto m = w.lock()) m->close();
  all_tokens_.clear();
}

void Flusher::host_failed(const std::string& host, const std::string& why) {
  const std::int64_t now = unix_now();
  if (hold_.failed(host, now, why)) {
    log_line(Priority::warning, host + ": cannot take mail (" + why + "); its messages wait for it, without an "
                                "attempt charged to them; next try in " +
                                    human_duration(hold_.pause(host).count()));
  } else if (log_enabled(Priority::debug)) {
    log_line(Priority::debug, host + ": still failing (" + why + "); held until " +
                                  std::to_string(hold_.until(host)));
  }
}

void Flusher::host_worked(const std::string& host) {
  if (hold_.succeeded(host)) log_line(Priority::notice, host + ": takes mail again");
}

}  // namespace nullq::send
