// Golden-output tests: each tests/golden/*.golden file names a dump and a
// command line, followed by the transcript ntriage must print. The files are
// reviewed by hand against WinDbg's conventions (docs/GOLDEN.md); regenerate
// with scripts/update-golden.sh and review the diff before committing.
//
// File format:
//   dump: corpus:lldb/sigsegv.dmp        (or fixture:wine/out/x.dmp)
//   images: fixture:wine/out             (optional: the -i image path)
//   symbols: corpus:lldb                 (optional: the -y symbol path)
// Paths of the corpus and fixture folders in the output read "<corpus>" and
// "<fixtures>", so a transcript does not depend on where the tree is.
//   commands: ~; k                       (the -c command line)
//   ----
//   <expected stdout>
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "support/test_support.h"

namespace nt::test {
namespace {

struct Golden {
    std::string file, dump, command, images, symbols, expected;
};

std::string goldenDir() { return std::string(NTRIAGE_FIXTURES_DIR) + "/../golden"; }

std::vector<std::string> listGolden() {
    std::vector<std::string> names;
    if (DIR* d = opendir(goldenDir().c_str())) {
        while (auto* e = readdir(d)) {
            std::string n = e->d_name;
            if (n.size() > 7 && n.substr(n.size() - 7) == ".golden") names.push_back(n);
        }
        closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
}

Golden parse(const std::string& name) {
    Golden g;
    g.file = name;
    std::string text = readTextFile(goldenDir() + "/" + name);
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line == "----") break;
        if (line.rfind("dump: ", 0) == 0) g.dump = line.substr(6);
        if (line.rfind("commands: ", 0) == 0) g.command = line.substr(10);
        if (line.rfind("images: ", 0) == 0) g.images = line.substr(8);
        if (line.rfind("symbols: ", 0) == 0) g.symbols = line.substr(9);
    }
    size_t sep = text.find("\n----\n");
    if (sep != std::string::npos) g.expected = text.substr(sep + 6);
    return g;
}

std::string resolveDump(const std::string& spec) {
    if (spec.rfind("corpus:", 0) == 0) return corpusFile(spec.substr(7));
    if (spec.rfind("fixture:", 0) == 0) return fixtureFile(spec.substr(8));
    return spec;
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, OutputMatches) {
    Golden g = parse(GetParam());
    ASSERT_FALSE(g.dump.empty()) << g.file << ": no 'dump:' line";
    ASSERT_FALSE(g.command.empty()) << g.file << ": no 'commands:' line";
    std::string path = resolveDump(g.dump);
    if (path.empty() || access(path.c_str(), R_OK) != 0) GTEST_SKIP() << "dump not found: " << g.dump;
    std::vector<std::string> args = {path, "-c", g.command};
    if (!g.images.empty()) {
        args.push_back("-i");
        args.push_back(resolveDump(g.images));
    }
    if (!g.symbols.empty()) {
        args.push_back("-y");
        args.push_back(resolveDump(g.symbols));
    }
    RunResult r = runNtriage(args);
    auto replaceAll = [](std::string& s, const std::string& from, const std::string& to) {
        for (size_t at = 0; !from.empty() && (at = s.find(from, at)) != std::string::npos; at += to.size())
            s.replace(at, from.size(), to);
    };
    replaceAll(r.out, corpusFile(""), "<corpus>/");
    replaceAll(r.out, fixtureFile(""), "<fixtures>/");
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, g.expected) << "golden file: tests/golden/" << g.file;
}

INSTANTIATE_TEST_SUITE_P(Golden, GoldenTest, ::testing::ValuesIn(listGolden()),
                         [](const auto& p) {
                             std::string n = p.param.substr(0, p.param.size() - 7);
                             for (char& c : n)
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             return n;
                         });

}  // namespace
}  // namespace nt::test
