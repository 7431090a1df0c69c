// Checks output files (reports/src/output_file.cpp): a regular file is replaced
// atomically (the new contents or the old, never a half file or a stray temporary); a
// special file such as /dev/null or a FIFO is written in place, never replaced; the
// temporary file is created exclusively, so a symbolic link planted at its name is
// never followed; a name as long as a folder allows still works; a bad path is one
// line that says why; interrupt signals wait until the file is in place. Method: write
// into a fresh temporary folder and look at what is there afterwards.
#include "faultline/reports/output_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

namespace faultline::reports {
namespace {

namespace fs = std::filesystem;

// A fresh folder under the system's temporary folder, removed with everything in it.
class TemporaryFolder {
 public:
  TemporaryFolder() {
    std::string pattern = (fs::temp_directory_path() / "faultline-report-test-XXXXXX").string();
    const char* made = ::mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr) << "cannot create a temporary folder from " << pattern;
    path_ = pattern;
  }
  ~TemporaryFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TemporaryFolder(const TemporaryFolder&) = delete;
  TemporaryFolder& operator=(const TemporaryFolder&) = delete;

  const fs::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::set<std::string> entries() const {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(path_)) names.insert(entry.path().filename().string());
    return names;
  }

 private:
  fs::path path_;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(WriteFileAtomically, WritesTheContents) {
  TemporaryFolder folder;
  const std::string path = folder.file("report.json");
  const auto problem = write_file_atomically(path, "{\"a\": 1}\n");
  ASSERT_FALSE(problem.has_value()) << *problem;
  EXPECT_EQ(read_text(path), "{\"a\": 1}\n");
}

TEST(WriteFileAtomically, ReplacesAnExistingFile) {
  TemporaryFolder folder;
  const std::string path = folder.file("report.json");
  { std::ofstream(path) << "an older and much longer report that must not leave a tail behind\n"; }
  const auto problem = write_file_atomically(path, "new\n");
  ASSERT_FALSE(problem.has_value()) << *problem;
  EXPECT_EQ(read_text(path), "new\n");
}

TEST(WriteFileAtomically, LeavesNoTemporaryFileBehind) {
  TemporaryFolder folder;
  ASSERT_FALSE(write_file_atomically(folder.file("report.json"), "first\n").has_value());
  ASSERT_FALSE(write_file_atomically(folder.file("report.json"), "second\n").has_value());
  EXPECT_EQ(folder.entries(), (std::set<std::string>{"report.json"}));
}

TEST(WriteFileAtomically, FailsWithOneLineForAMissingFolder) {
  TemporaryFolder folder;
  const std::string path = folder.file("missing/report.json");
  const auto problem = write_file_atomically(path, "contents\n");
  ASSERT_TRUE(problem.has_value()) << "writing into a folder that does not exist succeeded";
  EXPECT_EQ(problem->find('\n'), std::string::npos) << "the message is more than one line: " << *problem;
  EXPECT_NE(problem->find(path), std::string::npos) << "the message does not name the path: " << *problem;
  EXPECT_TRUE(folder.entries().empty()) << "a failed write left files behind";
}

TEST(WriteFileAtomically, FailsWithOneLineForAPathThatIsAFolder) {
  TemporaryFolder folder;
  const std::string path = folder.file("target");
  fs::create_directory(path);
  const auto problem = write_file_atomically(path, "contents\n");
  ASSERT_TRUE(problem.has_value()) << "writing over a folder succeeded";
  EXPECT_EQ(problem->find('\n'), std::string::npos) << "the message is more than one line: " << *problem;
  EXPECT_NE(problem->find("directory"), std::string::npos) << "the message does not say why: " << *problem;
  EXPECT_TRUE(fs::is_directory(path));
  EXPECT_TRUE(fs::is_empty(path));
  EXPECT_EQ(folder.entries(), (std::set<std::string>{"target"})) << "a failed write left files behind";
}

TEST(CheckWritable, AcceptsANewFileWithoutCreatingIt) {
  TemporaryFolder folder;
  const auto problem = check_writable(folder.file("report.json"));
  EXPECT_FALSE(problem.has_value()) << *problem;
  EXPECT_TRUE(folder.entries().empty());
}

TEST(CheckWritable, RefusesAnEmptyPathInOneLine) {
  const auto problem = check_writable("");
  ASSERT_TRUE(problem.has_value());
  EXPECT_FALSE(problem->empty());
  EXPECT_EQ(problem->find('\n'), std::string::npos) << *problem;
}

TEST(WriteFileAtomically, WritesACharacterDeviceInPlaceInsteadOfReplacingIt) {
  struct stat before {};
  ASSERT_EQ(::stat("/dev/null", &before), 0);
  ASSERT_TRUE(S_ISCHR(before.st_mode));
  const auto problem = write_file_atomically("/dev/null", "a report nobody wants\n");
  ASSERT_FALSE(problem.has_value()) << *problem;
  struct stat after {};
  ASSERT_EQ(::stat("/dev/null", &after), 0);
  EXPECT_TRUE(S_ISCHR(after.st_mode)) << "/dev/null is no longer a character device";
  EXPECT_EQ(after.st_ino, before.st_ino) << "/dev/null was replaced";
  EXPECT_EQ(after.st_rdev, before.st_rdev);
}

TEST(WriteFileAtomically, NamesTheReasonWhenADeviceRefusesTheWrite) {
  // Every Linux system has /dev/full; without it, this test has nothing to write to.
  ASSERT_EQ(::access("/dev/full", W_OK), 0) << "/dev/full cannot be written: " << std::strerror(errno);
  const auto problem = write_file_atomically("/dev/full", "contents\n");
  ASSERT_TRUE(problem.has_value()) << "writing to /dev/full succeeded";
  EXPECT_NE(problem->find(std::strerror(ENOSPC)), std::string::npos) << "the message does not say why: " << *problem;
  struct stat after {};
  ASSERT_EQ(::stat("/dev/full", &after), 0);
  EXPECT_TRUE(S_ISCHR(after.st_mode)) << "/dev/full was replaced";
}

TEST(WriteFileAtomically, WritesIntoAFifoThatSomeoneReads) {
  TemporaryFolder folder;
  const std::string path = folder.file("pipe");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  // The read end is open before the write (without waiting for a writer), and the
  // contents fit the pipe's buffer, so no second thread is needed.
  const int reading = ::open(path.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reading, 0);
  const auto problem = write_file_atomically(path, "through the pipe\n");
  char buffer[64] = {};
  const ssize_t count = ::read(reading, buffer, sizeof buffer);
  ::close(reading);
  ASSERT_FALSE(problem.has_value()) << *problem;
  EXPECT_EQ(std::string(buffer, count > 0 ? static_cast<std::size_t>(count) : 0), "through the pipe\n");
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_TRUE(S_ISFIFO(after.st_mode)) << "the FIFO was replaced by a regular file";
}

TEST(WriteFileAtomically, RefusesAFifoNobodyReadsInsteadOfWaiting) {
  TemporaryFolder folder;
  const std::string path = folder.file("pipe");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  const auto problem = write_file_atomically(path, "contents\n");
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("no process is reading it"), std::string::npos) << *problem;
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_TRUE(S_ISFIFO(after.st_mode));
}

TEST(WriteFileAtomically, NeverFollowsASymbolicLinkPlantedAtATemporaryName) {
  TemporaryFolder folder;
  const std::string victim = folder.file("victim");
  { std::ofstream(victim) << "precious\n"; }
  // Every name the old scheme could pick (the target, then .tmp. and a process id) and
  // the prefix of the new one point at the victim.
  const std::string path = folder.file("r.json");
  fs::create_symlink(victim, path + ".tmp." + std::to_string(::getpid()));
  fs::create_symlink(victim, folder.file(".r.json.tmp.XXXXXX"));
  const auto problem = write_file_atomically(path, "the report\n");
  ASSERT_FALSE(problem.has_value()) << *problem;
  EXPECT_EQ(read_text(victim), "precious\n") << "the write went through a planted symbolic link";
  EXPECT_EQ(read_text(path), "the report\n");
  EXPECT_FALSE(fs::is_symlink(path)) << "the report became a symbolic link";
}

TEST(WriteFileAtomically, ReplacesTheFileASymbolicLinkNamesAndKeepsTheLink) {
  TemporaryFolder folder;
  const std::string target = folder.file("target.json");
  { std::ofstream(target) << "old\n"; }
  const std::string link = folder.file("link.json");
  fs::create_symlink(target, link);
  const auto problem = write_file_atomically(link, "new\n");
  ASSERT_FALSE(problem.has_value()) << *problem;
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(read_text(target), "new\n");
  EXPECT_EQ(folder.entries(), (std::set<std::string>{"link.json", "target.json"}));
}

TEST(WriteFileAtomically, KeepsTheModeOfTheFileItReplaces) {
  TemporaryFolder folder;
  const std::string path = folder.file("report.json");
  { std::ofstream(path) << "old\n"; }
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  ASSERT_FALSE(write_file_atomically(path, "new\n").has_value());
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_EQ(after.st_mode & 07777, 0640U);
}

TEST(WriteFileAtomically, GivesANewFileTheModeTheUmaskAllows) {
  TemporaryFolder folder;
  const std::string path = folder.file("report.json");
  const mode_t previous = ::umask(022);
  const auto problem = write_file_atomically(path, "new\n");
  ::umask(previous);
  ASSERT_FALSE(problem.has_value()) << *problem;
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_EQ(after.st_mode & 07777, 0644U) << "a report is readable by others, as any new file would be";
}

TEST(WriteFileAtomically, WritesAFileWhoseNameIsAsLongAsTheFolderAllows) {
  TemporaryFolder folder;
  const long name_max = ::pathconf(folder.path().c_str(), _PC_NAME_MAX);
  ASSERT_GT(name_max, 5);
  const std::string path = folder.file(std::string(static_cast<std::size_t>(name_max) - 5, 'r') + ".json");
  EXPECT_FALSE(check_writable(path).has_value()) << *check_writable(path);
  const auto problem = write_file_atomically(path, "contents\n");
  ASSERT_FALSE(problem.has_value()) << *problem;
  EXPECT_EQ(read_text(path), "contents\n");
  EXPECT_EQ(folder.entries().size(), 1U) << "a temporary file was left behind";
}

TEST(CheckWritable, RefusesANameLongerThanTheFolderAllowsWithTheReason) {
  TemporaryFolder folder;
  const long name_max = ::pathconf(folder.path().c_str(), _PC_NAME_MAX);
  const std::string path = folder.file(std::string(static_cast<std::size_t>(name_max) + 1, 'r'));
  const auto problem = check_writable(path);
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find(std::strerror(ENAMETOOLONG)), std::string::npos) << *problem;
  EXPECT_TRUE(folder.entries().empty());
}

TEST(CheckWritable, NamesTheReasonForASymbolicLinkLoop) {
  TemporaryFolder folder;
  fs::create_symlink(folder.file("b"), folder.file("a"));
  fs::create_symlink(folder.file("a"), folder.file("b"));
  const auto problem = check_writable(folder.file("a"));
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find(std::strerror(ELOOP)), std::string::npos) << *problem;
}

TEST(CheckWritable, RefusesABlockDevice) {
  // A block device of /dev if there is one; else a node of our own (containers often have
  // none in /dev), which takes the right to make device nodes (CI runs as root).
  TemporaryFolder folder;
  std::string device;
  for (const auto& entry : fs::directory_iterator("/dev")) {
    std::error_code error;
    if (entry.is_block_file(error)) {
      device = entry.path().string();
      break;
    }
  }
  if (device.empty()) {
    device = folder.file("block-device");
    ASSERT_EQ(::mknod(device.c_str(), S_IFBLK | 0600, ::makedev(7, 250)), 0)
        << "no block device in /dev and none can be made here: " << std::strerror(errno);
  }
  const auto problem = check_writable(device);
  ASSERT_TRUE(problem.has_value()) << device << " was accepted as an output";
  EXPECT_NE(problem->find("block device"), std::string::npos) << *problem;
}

TEST(SameFile, KnowsAFileByItsInodeThroughALink) {
  TemporaryFolder folder;
  const std::string path = folder.file("s.json");
  { std::ofstream(path) << "{}\n"; }
  fs::create_symlink(path, folder.file("alias.json"));
  EXPECT_TRUE(same_file(path, folder.file("alias.json")));
  EXPECT_TRUE(same_file(path, folder.path().string() + "/./s.json"));
  EXPECT_FALSE(same_file(path, folder.file("other.json"))) << "a file that does not exist is no file";
}

std::atomic<int> signals_received{0};
extern "C" void count_signal(int) {
  signals_received.fetch_add(1);
}

TEST(SignalsHeld, DeliversASignalOnlyOnceItGoes) {
  struct sigaction action {};
  action.sa_handler = count_signal;
  sigemptyset(&action.sa_mask);
  struct sigaction previous {};
  ASSERT_EQ(::sigaction(SIGTERM, &action, &previous), 0);
  signals_received.store(0);
  {
    const SignalsHeld held;
    ASSERT_EQ(::raise(SIGTERM), 0);
    EXPECT_EQ(signals_received.load(), 0) << "the signal arrived while it was held";
  }
  EXPECT_EQ(signals_received.load(), 1) << "the held signal was not delivered when the hold ended";
  ::sigaction(SIGTERM, &previous, nullptr);
}

}  // namespace
}  // namespace faultline::reports
