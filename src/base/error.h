// Errors that end an operation with a message for the user.
//
// FormatError: the input file is not what it claims to be, or is damaged in a
// way that makes it unusable (bad magic, truncated header, directory outside
// the file). The message names the problem in one line.
// UsageError: the user asked for something malformed (bad command syntax).
#pragma once

#include <stdexcept>
#include <string>

namespace nt {

class FormatError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace nt
