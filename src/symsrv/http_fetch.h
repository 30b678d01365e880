// One HTTP(S) GET with libcurl, bounded in every dimension: connect
// timeout, stall timeout (no bytes for that long), size, redirects. Used by
// the symbol locator; nothing here knows about symbol stores.
#pragma once

#include <cstdint>
#include <string>

namespace nt::symsrv {

struct HttpOptions {
    unsigned connectTimeoutMs = 3000;
    unsigned stallTimeoutMs = 5000;
    uint64_t maxBytes = 1ull << 32;
    std::string proxy;  // "" = no proxy at all (the *_proxy environment variables are ignored)
    std::string userAgent = "ntriage-symsrv";
    unsigned maxRedirects = 5;
};

struct HttpResult {
    enum class Status {
        Ok,         // 2xx, body delivered
        HttpError,  // a status >= 400 (httpCode says which)
        TimedOut,   // connect timeout or stall
        TooLarge,   // body over maxBytes
        Failed,     // connection refused, DNS, TLS, local write error ...
    };
    Status status = Status::Failed;
    long httpCode = 0;
    uint64_t bytes = 0;
    std::string message;  // for the probe list: "HTTP 404", "timed out: no data for 300 ms", ...
};

// GET `url` into the file `destPath` (created or truncated). On any status
// other than Ok the file may hold a partial body; the caller removes it.
HttpResult httpGetToFile(const std::string& url, const std::string& destPath, const HttpOptions& options);

// GET `url` into memory (small files: file.ptr, index2.txt); options.maxBytes applies.
HttpResult httpGetToString(const std::string& url, std::string& body, const HttpOptions& options);

bool isHttpUrl(const std::string& location);

}  // namespace nt::symsrv
