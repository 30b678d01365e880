#include "cli/prompt.h"

#include "cli/banner.h"

#include <editline/readline.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

namespace nt {

namespace {
std::string historyPath() {
    const char* home = std::getenv("HOME");
    return home ? std::string(home) + "/.ntriage_history" : std::string();
}
}  // namespace

int runInteractive(Engine& engine, const std::string& dumpPath) {
    std::cout << openingBanner(engine, dumpPath) << std::flush;
    std::string hist = historyPath();
    using_history();
    stifle_history(1000);
    if (!hist.empty()) read_history(hist.c_str());
    bool tty = isatty(STDIN_FILENO);
    std::string last;
    while (true) {
        std::string prompt = engine.prompt();
        std::string line;
        if (tty) {
            char* raw = readline(prompt.c_str());
            if (!raw) break;
            line = raw;
            std::free(raw);
        } else {
            std::cout << prompt << std::flush;
            if (!std::getline(std::cin, line)) break;
            std::cout << line << "\n";
        }
        // An empty line repeats the last command, as in WinDbg.
        if (line.empty()) line = last;
        if (line.empty()) continue;
        if (tty && line != last) {
            add_history(line.c_str());
            // Saved after every command, so a killed session keeps its history.
            if (!hist.empty()) write_history(hist.c_str());
        }
        last = line;
        bool quit = false;
        for (auto& out : engine.runLine(line)) {
            if (engine.jsonMode) std::cout << out.json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
            else std::cout << out.text;
            std::cout.flush();
            if (out.quit) quit = true;
        }
        if (quit) break;
    }
    return 0;
}

}  // namespace nt
