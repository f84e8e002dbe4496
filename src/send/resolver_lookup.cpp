// The real Lookup: forwards to dns::Resolver (see include/nullq/send/router.hpp).
#include "nullq/send/router.hpp"

namespace nullq::send {

void ResolverLookup::resolve_host(const std::string& name, HostCallback cb) { r_.resolve_host(name, std::move(cb)); }
void ResolverLookup::resolve_mx(const std::string& domain, MxCallback cb) { r_.resolve_mx(domain, std::move(cb)); }

}  // namespace nullq::send
