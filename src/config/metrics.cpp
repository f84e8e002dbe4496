// The `metrics` mapping of nullq.yaml (see include/nullq/config.hpp, nullq.yaml(5)).
#include "reader.hpp"

namespace nullq::config::detail {

// metrics.textfile: where nullq-send writes its Prometheus textfile. node_exporter's textfile
// collector reads *.prom files only, and nullq-send renames a temporary file in the same
// directory over it, so it must be an absolute path ending in .prom.
void read_metrics(const Reader& r, const YAML::Node& m, Config& c) {
  r.soft([&] {
    if (!m.IsMap()) r.fail(m, "'metrics' must be a mapping (metrics: {textfile: /var/lib/prometheus/node-exporter/nullq.prom})");
    r.check_keys(m, "metrics", keys::metrics);
    if (auto n = m["textfile"]) {
      std::string v = r.str(n, "metrics.textfile");
      if (v.empty() || v[0] != '/') r.fail(n, "'metrics.textfile' must be an absolute path, not '" + v + "'");
      if (v.size() < 6 || v.compare(v.size() - 5, 5, ".prom") != 0 || v[v.size() - 6] == '/')
        r.fail(n, "'metrics.textfile' must end in .prom (node_exporter reads only those), not '" + v + "'");
      c.metrics_textfile = v;
    }
  });
}

}  // namespace nullq::config::detail
