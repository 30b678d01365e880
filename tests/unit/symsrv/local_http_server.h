// A tiny threaded HTTP/1.1 server on 127.0.0.1 (ephemeral port) for the
// symbol-store tests: fixed routes, 404 for the rest, request counting, and
// misbehaving endpoints (never answers; sends half a body and stalls).
// Header-only so that the test support library needs no change.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace nt::test {

class LocalHttpServer {
public:
    struct Route {
        enum class Mode { Normal, Silent, HalfBody };
        int status = 200;
        std::string body;
        Mode mode = Mode::Normal;
        std::string location;  // for 3xx
        unsigned delayMs = 0;  // wait this long before answering (to see parallel requests overlap)
    };

    LocalHttpServer() {
        listenFd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listenFd_ < 0) throw std::runtime_error("socket failed");
        int one = 1;
        ::setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        if (::bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listenFd_, 64) != 0) {
            ::close(listenFd_);
            throw std::runtime_error("bind/listen on 127.0.0.1 failed");
        }
        socklen_t len = sizeof addr;
        ::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        acceptThread_ = std::thread([this] { acceptLoop(); });
    }

    ~LocalHttpServer() {
        stop_ = true;
        acceptThread_.join();
        ::close(listenFd_);
        std::vector<std::thread> workers;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            workers.swap(workers_);
        }
        for (auto& t : workers) t.join();
    }

    LocalHttpServer(const LocalHttpServer&) = delete;
    LocalHttpServer& operator=(const LocalHttpServer&) = delete;

    uint16_t port() const { return port_; }
    std::string url(const std::string& path = "") const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }

    void set(const std::string& path, Route route) {
        std::lock_guard<std::mutex> lock(mutex_);
        routes_[path] = std::move(route);
    }
    void serve(const std::string& path, std::string body) { set(path, Route{200, std::move(body), Route::Mode::Normal, {}}); }

    size_t requestCount() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return log_.size();
    }
    size_t requestCount(const std::string& path) const {
        std::lock_guard<std::mutex> lock(mutex_);
        size_t n = 0;
        for (const auto& p : log_) n += p == path;
        return n;
    }
    std::vector<std::string> requestLog() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return log_;
    }
    // The most requests ever handled at the same time.
    size_t maxConcurrent() const { return maxConcurrent_.load(); }
    std::string lastUserAgent() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return userAgent_;
    }

private:
    void acceptLoop() {
        while (!stop_) {
            pollfd p{listenFd_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) continue;
            int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            std::lock_guard<std::mutex> lock(mutex_);
            workers_.emplace_back([this, fd] {
                size_t now = ++concurrent_;
                size_t seen = maxConcurrent_.load();
                while (now > seen && !maxConcurrent_.compare_exchange_weak(seen, now)) {
                }
                handle(fd);
                ::close(fd);
                --concurrent_;
            });
        }
    }

    // Waits for input until stop; false when the peer closed or we stop.
    bool waitReadable(int fd) {
        while (!stop_) {
            pollfd p{fd, POLLIN, 0};
            int r = ::poll(&p, 1, 20);
            if (r > 0) return true;
            if (r < 0) return false;
        }
        return false;
    }

    // Holds the connection open, sending nothing, until the client gives up.
    void holdOpen(int fd) {
        char buf[512];
        while (waitReadable(fd)) {
            if (::recv(fd, buf, sizeof buf, 0) <= 0) return;
        }
    }

    static bool sendAll(int fd, const std::string& s) {
        size_t off = 0;
        while (off < s.size()) {
            ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
            if (n <= 0) return false;
            off += static_cast<size_t>(n);
        }
        return true;
    }

    void handle(int fd) {
        std::string req;
        char buf[2048];
        while (req.find("\r\n\r\n") == std::string::npos && req.size() < 16384) {
            if (!waitReadable(fd)) return;
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) return;
            req.append(buf, static_cast<size_t>(n));
        }
        size_t sp1 = req.find(' ');
        size_t sp2 = sp1 == std::string::npos ? sp1 : req.find(' ', sp1 + 1);
        if (sp2 == std::string::npos) return;
        std::string path = req.substr(sp1 + 1, sp2 - sp1 - 1);
        Route route{404, "not found", Route::Mode::Normal, {}};
        {
            std::lock_guard<std::mutex> lock(mutex_);
            log_.push_back(path);
            size_t ua = req.find("User-Agent: ");
            if (ua != std::string::npos) userAgent_ = req.substr(ua + 12, req.find("\r\n", ua) - ua - 12);
            auto it = routes_.find(path);
            if (it != routes_.end()) route = it->second;
        }
        if (route.mode == Route::Mode::Silent) return holdOpen(fd);
        for (unsigned waited = 0; waited < route.delayMs && !stop_; waited += 10)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        std::string head = "HTTP/1.1 " + std::to_string(route.status) + (route.status < 400 ? " OK" : " Error") +
                           "\r\nContent-Length: " + std::to_string(route.body.size()) +
                           "\r\nConnection: close\r\n";
        if (!route.location.empty()) head += "Location: " + route.location + "\r\n";
        head += "\r\n";
        if (route.mode == Route::Mode::HalfBody) {
            sendAll(fd, head + route.body.substr(0, route.body.size() / 2));
            return holdOpen(fd);
        }
        sendAll(fd, head + route.body);
    }

    int listenFd_ = -1;
    uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<size_t> concurrent_{0};
    std::atomic<size_t> maxConcurrent_{0};
    std::thread acceptThread_;
    mutable std::mutex mutex_;
    std::map<std::string, Route> routes_;
    std::vector<std::string> log_;
    std::string userAgent_;
    std::vector<std::thread> workers_;
};

}  // namespace nt::test
