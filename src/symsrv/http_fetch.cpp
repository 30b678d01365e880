#include "symsrv/http_fetch.h"

#include <curl/curl.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>

namespace nt::symsrv {
namespace {

using Clock = std::chrono::steady_clock;

void globalInitOnce() {
    static std::once_flag once;
    // Must run before any thread creates a handle; call_once makes it so.
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
    std::FILE* file = nullptr;
    std::string* memory = nullptr;
    uint64_t maxBytes = 0;
    uint64_t received = 0;   // body bytes
    uint64_t activity = 0;   // body + header bytes: any of them proves the server is alive
    bool tooLarge = false;
    bool writeFailed = false;
};

size_t onBody(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t n = size * count;
    t->activity += n;
    if (n > t->maxBytes - t->received) {
        t->tooLarge = true;
        return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    if (t->file) {
        if (std::fwrite(data, 1, n, t->file) != n) {
            t->writeFailed = true;
            return 0;
        }
    } else if (t->memory) {
        t->memory->append(data, n);
    }
    t->received += n;
    return n;
}

size_t onHeader(char*, size_t size, size_t count, void* user) {
    static_cast<Transfer*>(user)->activity += size * count;
    return size * count;
}

struct EasyDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct MultiDeleter {
    void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};

HttpResult run(const std::string& url, Transfer& t, const HttpOptions& o) {
    globalInitOnce();
    HttpResult r;
    std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
    std::unique_ptr<CURLM, MultiDeleter> multi(curl_multi_init());
    if (!easy || !multi) {
        r.message = "cannot initialise libcurl";
        return r;
    }
    CURL* e = easy.get();
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, static_cast<long>(o.maxRedirects));
    curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, o.userAgent.c_str());
    // An explicit proxy or none: a stray https_proxy in the environment must
    // not send symbol requests somewhere the user did not ask for.
    curl_easy_setopt(e, CURLOPT_PROXY, o.proxy.c_str());
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connectTimeoutMs));
    // libcurl's own stall detector counts whole seconds; it is the backstop
    // behind our millisecond check in the loop below.
    long stallSeconds = static_cast<long>((o.stallTimeoutMs + 999) / 1000);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, stallSeconds < 1 ? 1L : stallSeconds);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(o.maxBytes));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, onBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, onHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
    t.maxBytes = o.maxBytes;

    curl_multi_add_handle(multi.get(), e);
    auto lastActivity = Clock::now();
    uint64_t seenActivity = 0;
    bool stalled = false;
    int running = 1;
    CURLcode done = CURLE_OK;
    bool finished = false;
    while (!finished) {
        if (curl_multi_perform(multi.get(), &running) != CURLM_OK) {
            done = CURLE_FAILED_INIT;
            break;
        }
        int queued = 0;
        while (CURLMsg* msg = curl_multi_info_read(multi.get(), &queued)) {
            if (msg->msg == CURLMSG_DONE) {
                done = msg->data.result;
                finished = true;
            }
        }
        if (finished || running == 0) break;
        auto now = Clock::now();
        if (t.activity != seenActivity) {
            seenActivity = t.activity;
            lastActivity = now;
        }
        // The connect phase has its own timeout; the stall clock starts
        // once connected (or when the last byte arrived).
        curl_off_t connectUs = 0;
        curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connectUs);
        if (connectUs == 0) lastActivity = now;
        auto idleMs = std::chrono::duration_cast<std::chrono::milliseconds>(now - lastActivity).count();
        if (idleMs >= static_cast<long long>(o.stallTimeoutMs)) {
            stalled = true;
            break;
        }
        curl_multi_poll(multi.get(), nullptr, 0, 50, nullptr);
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.httpCode);
    curl_multi_remove_handle(multi.get(), e);
    r.bytes = t.received;

    if (stalled) {
        r.status = HttpResult::Status::TimedOut;
        r.message = "timed out: no data for " + std::to_string(o.stallTimeoutMs) + " ms";
    } else if (t.tooLarge || done == CURLE_FILESIZE_EXCEEDED) {
        r.status = HttpResult::Status::TooLarge;
        r.message = "too large: over " + std::to_string(o.maxBytes) + " bytes";
    } else if (t.writeFailed) {
        r.status = HttpResult::Status::Failed;
        r.message = "cannot write the downloaded file";
    } else if (done == CURLE_OK) {
        r.status = HttpResult::Status::Ok;
        r.message = "HTTP " + std::to_string(r.httpCode);
    } else if (done == CURLE_HTTP_RETURNED_ERROR) {
        r.status = HttpResult::Status::HttpError;
        r.message = "HTTP " + std::to_string(r.httpCode);
    } else if (done == CURLE_OPERATION_TIMEDOUT) {
        r.status = HttpResult::Status::TimedOut;
        r.message = std::string("timed out: ") + curl_easy_strerror(done);
    } else {
        r.status = HttpResult::Status::Failed;
        r.message = curl_easy_strerror(done);
    }
    return r;
}

}  // namespace

bool isHttpUrl(const std::string& location) {
    auto starts = [&](const char* p) {
        size_t n = std::char_traits<char>::length(p);
        if (location.size() < n) return false;
        for (size_t i = 0; i < n; ++i)
            if (std::tolower(static_cast<unsigned char>(location[i])) != p[i]) return false;
        return true;
    };
    return starts("http://") || starts("https://");
}

HttpResult httpGetToFile(const std::string& url, const std::string& destPath, const HttpOptions& options) {
    std::FILE* f = std::fopen(destPath.c_str(), "wb");
    if (!f) {
        HttpResult r;
        r.message = "cannot create " + destPath;
        return r;
    }
    Transfer t;
    t.file = f;
    HttpResult r = run(url, t, options);
    if (std::fclose(f) != 0 && r.status == HttpResult::Status::Ok) {
        r.status = HttpResult::Status::Failed;
        r.message = "cannot write " + destPath;
    }
    return r;
}

HttpResult httpGetToString(const std::string& url, std::string& body, const HttpOptions& options) {
    body.clear();
    Transfer t;
    t.memory = &body;
    return run(url, t, options);
}

}  // namespace nt::symsrv
