// !teb, !peb and ~ on real dumps, checked against facts from other sources:
// the dump's thread list, register context and module list.
#include <gtest/gtest.h>

#include "commands/engine.h"
#include "dump/open_dump.h"
#include "support/test_support.h"

namespace nt::test {
namespace {

// Legacy USERDU64 full dump: TEB and PEB memory are present.
TEST(InfoCommands, TebAndPebOfUserdu64MatchThreadListAndModules) {
    NT_REQUIRE_CORPUS_FILE(path, "kdlibcpp/targetapp_stacktest_x64_release/targetapp_stacktest_x64_release.dmp");
    Engine e(openDump(path));
    const Thread& t = e.target().threads[e.currentThread()];
    Output teb = e.execute("!teb");
    ASSERT_FALSE(teb.error) << teb.text;
    EXPECT_EQ(teb.json["self"].get<uint64_t>(), t.teb);
    EXPECT_EQ(teb.json["client_id"]["thread"].get<uint64_t>(), t.id);
    // The thread's stack pointer lies between the TEB's stack limit and base.
    uint64_t rsp = t.context->sp();
    EXPECT_LE(teb.json["stack_limit"].get<uint64_t>(), rsp);
    EXPECT_GT(teb.json["stack_base"].get<uint64_t>(), rsp);
    // `~` prints the process id the TEB's ClientId holds.
    Output threads = e.execute("~");
    EXPECT_EQ(threads.json["threads"][0]["process_id"].get<uint64_t>(), teb.json["client_id"]["process"].get<uint64_t>());

    Output peb = e.execute("!peb");
    ASSERT_FALSE(peb.error) << peb.text;
    EXPECT_EQ(peb.json["peb"].get<uint64_t>(), teb.json["peb"].get<uint64_t>());
    // PEB.ImageBaseAddress is the executable in the module list.
    const Module* app = e.target().moduleByName("targetapp");
    ASSERT_NE(app, nullptr);
    EXPECT_EQ(peb.json["image_base"].get<uint64_t>(), app->base);
    EXPECT_NE(peb.text.find("    ImageBaseAddress:         " + std::string("00007ff7e1450000")), std::string::npos) << peb.text;
}

// WoW64: the x86 view shows the 32-bit TEB, which sits two pages above the 64-bit one.
TEST(InfoCommands, Wow64X86ViewShowsTeb32) {
    NT_REQUIRE_CORPUS_FILE(path, "kdlibcpp/targetapp_stacktest_wow64/targetapp_stacktest_wow64.cab.dmp");
    Engine e(openDump(path));
    uint64_t teb64 = e.target().threads[0].teb;
    e.setCurrentThread(0);
    ASSERT_TRUE(e.setEffectiveMachine(Machine::X86));
    Output teb = e.execute("!teb");
    ASSERT_FALSE(teb.error) << teb.text;
    EXPECT_EQ(teb.text.rfind("Wow64 TEB32 at 005db000\n", 0), 0u) << teb.text;
    EXPECT_EQ(teb.json["self"].get<uint64_t>(), teb64 + 0x2000);
    EXPECT_EQ(teb.json["client_id"]["thread"].get<uint64_t>(), e.target().threads[0].id);
}

// A small minidump holds no TEB memory: WinDbg's error, not invented zeros.
TEST(InfoCommands, TebMissingFromSmallMinidump) {
    NT_REQUIRE_CORPUS_FILE(path, "kdlibcpp/targetapp_minidump/target_minidump.dmp");
    Engine e(openDump(path));
    Output teb = e.execute("!teb");
    EXPECT_NE(teb.text.find("error InitTypeRead( TEB )"), std::string::npos) << teb.text;
}

}  // namespace
}  // namespace nt::test
