// Replays inputs through a fuzz target's LLVMFuzzerTestOneInput without libFuzzer, so the ordinary
// (GCC) test suite checks every target's invariants on its seed corpus (tests/fuzz/corpus/<name>/)
// and on every input a fuzz run ever failed on (tests/data/fuzz/<name>/, the regression inputs).
// Usage: <name>_replay DIR... ; exits non-zero (the target aborts) when an invariant breaks.
#include <dirent.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  std::size_t n = 0;
  for (int i = 1; i < argc; ++i) {
    std::string dir = argv[i];
    DIR* d = ::opendir(dir.c_str());
    if (!d) continue;  // a target without regression inputs yet
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      std::ifstream f(dir + "/" + name, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      std::printf("%s/%s (%zu bytes)\n", dir.c_str(), name.c_str(), bytes.size());
      std::fflush(stdout);
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++n;
    }
  }
  std::printf("%zu inputs replayed\n", n);
  return n == 0 ? 1 : 0;
}
