// ntriage: open a Windows crash dump and answer WinDbg commands.
//
//   ntriage DUMP                     interactive prompt
//   ntriage DUMP -c "~*k; lm; q"     run commands and exit
//   ntriage DUMP --json -c "k"       same facts as JSON
#include <CLI/CLI.hpp>

#include <iostream>
#include <sstream>

#include "base/error.h"
#include "cli/prompt.h"
#include "cli/symbol_session.h"
#include "commands/engine.h"
#include "dump/open_dump.h"

namespace {

std::vector<std::string> splitPath(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ';'))
        if (!item.empty()) out.push_back(item);
    return out;
}

// Where the engine goes at exit (see leaveEngine). volatile: a store the
// compiler cannot drop, so the pointer really is in the data segment.
nt::Engine* volatile gEngineAtExit = nullptr;

// The engine owns the dump's mappings, the symbol tables and everything a
// session built; freeing that block by block at exit is pure cost (a few
// percent of a `!process 0 0` run), the kernel reclaims the process anyway.
// So once the output is flushed, the engine is left allocated. It stays
// reachable through a global, which is what LeakSanitizer checks: ASan builds
// (NTRIAGE_SANITIZE) report no leak from it.
int leaveEngine(std::unique_ptr<nt::Engine> session, int exitCode) {
    std::cout.flush();
    gEngineAtExit = session.release();
    return exitCode;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"ntriage - Windows crash-dump analysis on Linux, in WinDbg's command language"};
    std::string dumpPath, commands, symbolPath, imagePath;
    bool json = false, offline = false;
    app.add_option("dump", dumpPath, "dump file (.dmp: minidump, user full dump)");
    app.add_option("-z", dumpPath, "dump file (WinDbg/cdb spelling)");
    app.add_option("-c", commands, "commands to run, separated by ';' (then exit unless interactive input follows)");
    app.add_flag("--json", json, "render results as JSON");
    app.add_option("-y", symbolPath, "symbol path (overrides _NT_SYMBOL_PATH)");
    app.add_flag("--offline", offline, "never contact a symbol server; print the URLs to fetch instead");
    app.add_option("-i", imagePath, "image path: directories searched for module images, ';'-separated");
    CLI11_PARSE(app, argc, argv);

    if (dumpPath.empty()) {
        std::cerr << "ntriage: error: no dump file given (usage: ntriage DUMP [-c \"commands\"] [--json])\n";
        return 2;
    }
    std::unique_ptr<nt::Engine> session;
    try {
        // A PDB or ISF file opens a types-only session (dt without a dump).
        if (nt::looksLikeSymbolFile(dumpPath)) session = nt::openSymbolSession(dumpPath);
        else session = std::make_unique<nt::Engine>(nt::openDump(dumpPath));
    } catch (const nt::FormatError& e) {
        std::cerr << "ntriage: error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "ntriage: error: " << dumpPath << ": " << e.what() << "\n";
        return 2;
    }

    nt::Engine& engine = *session;
    engine.jsonMode = json;
    if (imagePath.empty())
        if (const char* env = std::getenv("_NT_EXECUTABLE_IMAGE_PATH")) imagePath = env;
    if (!imagePath.empty()) engine.images().setImagePath(splitPath(imagePath));
    if (symbolPath.empty()) {
        // WinDbg's variables: the alternate path is searched first.
        const char* alt = std::getenv("_NT_ALT_SYMBOL_PATH");
        const char* primary = std::getenv("_NT_SYMBOL_PATH");
        if (alt && *alt) symbolPath = alt;
        if (primary && *primary) symbolPath += (symbolPath.empty() ? "" : ";") + std::string(primary);
    }
    if (offline) {
        auto options = engine.symbols().locatorOptions();
        options.offline = true;
        engine.symbols().setLocatorOptions(options);
    }
    if (!symbolPath.empty()) {
        engine.symbols().setSymbolPath(symbolPath);
        engine.invalidateStacks();  // kernel dumps: what needed nt's symbols
    }

    if (!commands.empty()) {
        nlohmann::json results = nlohmann::json::array();
        bool anyError = false;
        for (const auto& cmd : nt::Engine::splitCommands(commands)) {
            // Echo the prompt and command like cdb does, so a transcript reads as a session.
            std::string prompt = engine.prompt();
            nt::Output out = engine.execute(cmd);
            if (json) {
                results.push_back({{"command", cmd}, {"result", out.json}, {"error", out.error}});
            } else {
                std::cout << prompt << cmd << "\n" << out.text;
            }
            anyError = anyError || out.error;
            if (out.quit) break;
        }
        if (json) {
            nlohmann::json doc = {{"dump", dumpPath}, {"results", results}};
            std::cout << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        }
        return leaveEngine(std::move(session), anyError ? 1 : 0);
    }
    const int exitCode = nt::runInteractive(engine, dumpPath);
    return leaveEngine(std::move(session), exitCode);
}
