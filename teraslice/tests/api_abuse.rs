//! Abuse of the master's HTTP API: huge bodies and headers, deep JSON nesting, 10,000 concurrent
//! connections, slowloris (headers sent a byte at a time), path traversal in every path
//! parameter, unknown methods and broken HTTP. After each, and during the ones that hold
//! connections, the master answers `GET /` (the health check) — within a generous bound, so a
//! wedged master fails the test instead of hanging it. The assertions are on behaviour (status
//! codes, the master alive), not on timings.
mod api_support;

use std::time::Duration;

use api_support::{job, TestMaster};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the master may take to answer the health check while under abuse. A liveness bound
/// (a wedged master never answers), not a performance target: CI machines are slow and shared.
const ALIVE_WITHIN: Duration = Duration::from_secs(30);

/// Connections held open at once in the concurrency test.
const CONNECTIONS: usize = 10_000;

/// `host:port` of the master's URL.
fn addr(m: &TestMaster) -> String {
    m.url.trim_start_matches("http://").to_string()
}

/// `GET /` on a fresh connection answers 200 within [`ALIVE_WITHIN`]; `when` names the moment.
async fn assert_alive(m: &TestMaster, when: &str) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("http client");
    let answer = tokio::time::timeout(ALIVE_WITHIN, http.get(format!("{}/", m.url)).send()).await;
    match answer {
        Ok(Ok(res)) => assert_eq!(res.status(), StatusCode::OK, "health check {when}"),
        Ok(Err(e)) => panic!("health check {when}: the master did not answer: {e}"),
        Err(_) => panic!("health check {when}: no answer within {ALIVE_WITHIN:?}"),
    }
}

/// Sends raw bytes (a request with `Connection: close`) and returns the status code and the
/// whole answer.
async fn exchange(addr: &str, request: &[u8]) -> (Option<u16>, String) {
    let mut tcp = TcpStream::connect(addr)
        .await
        .expect("connect to the master");
    tcp.write_all(request).await.expect("send the request");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(ALIVE_WITHIN, tcp.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the master neither answered nor closed");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok());
    (status, text)
}

/// Sends raw bytes on a new connection and returns the status code of the answer (`None` when
/// the master closed the connection without one).
async fn raw_status(addr: &str, request: &[u8]) -> Option<u16> {
    let mut tcp = TcpStream::connect(addr)
        .await
        .expect("connect to the master");
    // The master may answer and close before reading all of a huge request: a failed write is
    // fine, the answer is what counts.
    let _ = tcp.write_all(request).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(ALIVE_WITHIN, async {
        let mut buf = [0u8; 4096];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the master neither answered nor closed");
    let head = String::from_utf8_lossy(&answer);
    head.split_whitespace().nth(1).and_then(|s| s.parse().ok())
}

#[tokio::test]
async fn huge_bodies_and_headers_are_refused_and_the_master_stays_up() {
    let m = TestMaster::start("").await;
    // 16 MiB of JSON with its length announced: refused with 413 (the limit is 1 MiB).
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(16 << 20));
    let (status, body) = m.raw(Method::POST, "/jobs", big.into_bytes()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    // 128 MiB streamed in chunks with no length: the limit applies as it arrives; past what
    // the master drains to let the client read its answer, it may close instead.
    let addr = addr(&m);
    let mut tcp = TcpStream::connect(&addr).await.expect("connect");
    let head = b"POST /jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    tcp.write_all(head).await.expect("send the head");
    let chunk = [
        format!("{:x}\r\n", 1 << 20).into_bytes(),
        vec![b' '; 1 << 20],
        b"\r\n".to_vec(),
    ]
    .concat();
    for _ in 0..128 {
        if tcp.write_all(&chunk).await.is_err() {
            break;
        }
    }
    let _ = tcp.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(ALIVE_WITHIN, tcp.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 413"),
        "a streamed huge body: {answer}"
    );
    assert_alive(&m, "after huge bodies").await;

    // One 1 MiB header, and 10,000 small ones: refused (431) or the connection closed.
    let long = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1 << 20)
    );
    let many: String = (0..10_000).map(|i| format!("X-H{i}: v\r\n")).collect();
    let many = format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    for request in [long, many] {
        let status = raw_status(&addr, request.as_bytes()).await;
        assert!(
            status.is_none_or(|s| s == 431 || s == 400),
            "oversized headers: {status:?}"
        );
    }
    assert_alive(&m, "after huge headers").await;
}

#[tokio::test]
async fn deep_json_nesting_is_refused_with_400() {
    let m = TestMaster::start("").await;
    let depth = 100_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    for body in [arrays, objects] {
        let (status, answer) = m.raw(Method::POST, "/jobs", body.into_bytes()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    }
    // Nesting the JSON reader allows (just under its limit) in a field the job keeps: accepted
    // or refused, the job list stays readable.
    let mut deep = json!(1);
    for _ in 0..120 {
        deep = json!({ "a": deep });
    }
    let mut spec = job("deep");
    spec["extra_field"] = deep;
    let (status, answer) = m.post("/jobs?start=false", Some(&spec)).await;
    assert!(
        status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
        "{status}: {answer}"
    );
    let (status, _) = m.get("/jobs").await;
    assert_eq!(status, StatusCode::OK, "the job list is readable");
    assert_alive(&m, "after deep nesting").await;
}

/// Raises this process's open-file limit (the master, started afterwards, inherits it) so that
/// both ends of [`CONNECTIONS`] sockets fit; returns the number of connections that fit.
fn room_for_connections() -> usize {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let want = (CONNECTIONS + 1000) as u64;
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return CONNECTIONS;
    };
    if soft < want {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, want.min(hard), hard);
    }
    let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap_or((soft, hard));
    let fit = usize::try_from(soft.saturating_sub(1000)).unwrap_or(CONNECTIONS);
    if fit < CONNECTIONS {
        eprintln!("open-file limit {soft}: scaled to {fit} connections instead of {CONNECTIONS}");
    }
    fit.min(CONNECTIONS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_connections_are_all_answered() {
    let n = room_for_connections();
    let m = TestMaster::start("").await;
    let addr = addr(&m);
    // Connect all, 100 at a time: after each batch a health check on a new connection is
    // answered only once the master has accepted everything queued before it (accept order is
    // FIFO), so a burst never outgrows the listen backlog (1024) — overflowing it makes the
    // kernel drop connections the client believes open, which is not what this test is about.
    // Then one request on each while every other connection is still open.
    let mut sockets: Vec<TcpStream> = Vec::with_capacity(n);
    while sockets.len() < n {
        let batch = (n - sockets.len()).min(100);
        let connects = (0..batch).map(|_| TcpStream::connect(&addr));
        for s in join_all(connects).await {
            sockets.push(s.expect("every connection is accepted"));
        }
        assert_alive(&m, &format!("with {} connections open", sockets.len())).await;
    }
    assert_eq!(sockets.len(), n);
    assert_alive(&m, "with every connection open").await;

    let requests = sockets.into_iter().map(|mut tcp| async move {
        let asked = tcp
            .write_all(b"GET /cluster/state HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        asked.expect("send a request");
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match tcp.read(&mut buf).await {
                Ok(0) => {
                    head.extend_from_slice(b"(closed)");
                    break;
                }
                Err(e) => {
                    head.extend_from_slice(format!("({:?})", e.kind()).as_bytes());
                    break;
                }
                Ok(k) => head.extend_from_slice(&buf[..k]),
            }
        }
        // Kept open until every request is answered.
        (head, tcp)
    });
    let answered = tokio::time::timeout(Duration::from_secs(300), join_all(requests))
        .await
        .expect("every request answered");
    let mut others: std::collections::BTreeMap<String, usize> = Default::default();
    for (head, _) in &answered {
        if !head.starts_with(b"HTTP/1.1 200") {
            let line = String::from_utf8_lossy(head)
                .lines()
                .next()
                .unwrap_or("")
                .to_string();
            *others.entry(line).or_default() += 1;
        }
    }
    assert!(
        others.is_empty(),
        "answers other than 200 (first line: count): {others:?}"
    );
    drop(answered);
    assert_alive(&m, "after the connections closed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_do_not_keep_others_out() {
    let m = TestMaster::start("").await;
    let addr = addr(&m);
    // 1,000 connections, each sending its request line and then one header byte per 200 ms.
    let mut slow = Vec::new();
    for _ in 0..1000 {
        let mut tcp = TcpStream::connect(&addr).await.expect("connect");
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .expect("request line");
        slow.push(tcp);
    }
    for round in 0..15 {
        for tcp in &mut slow {
            // A connection the master closed is fine: it may drop slow clients.
            let _ = tcp.write_all(b"a").await;
        }
        if round % 5 == 0 {
            assert_alive(&m, &format!("during slowloris (round {round})")).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Finishing the headers gets an answer: 200 on every connection the master kept (it may
    // have closed slow ones instead).
    for mut tcp in slow {
        if tcp.write_all(b"\r\n\r\n").await.is_err() {
            continue;
        }
        let mut head = [0u8; 12];
        if tcp.read_exact(&mut head).await.is_ok() {
            assert_eq!(&head, b"HTTP/1.1 200", "a slow request, once complete");
        }
    }
    assert_alive(&m, "after slowloris").await;
}

/// Values for a path parameter that try to leave it or break the router.
const HOSTILE_IDS: &[&str] = &[
    "..",
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%5C..%5Cwindows",
    "....%2F%2F....%2F%2Fetc",
    "%00",
    "a%00b",
    "%25%32%65%25%32%65",
    "%C0%AE%C0%AE",
    "%FF%FE",
    "%F0%9F%98%80",
    "'%20OR%20'1'='1",
    "*",
    "%20",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_traversal_in_every_path_parameter_finds_nothing() {
    let m = TestMaster::start("").await;
    let long = "a".repeat(10_000);
    let ids: Vec<&str> = HOSTILE_IDS.iter().copied().chain([long.as_str()]).collect();
    let templates = [
        (Method::GET, "/jobs/{}"),
        (Method::PUT, "/jobs/{}"),
        (Method::DELETE, "/jobs/{}"),
        (Method::GET, "/jobs/{}/ex"),
        (Method::POST, "/jobs/{}/_start"),
        (Method::POST, "/jobs/{}/_stop"),
        (Method::POST, "/jobs/{}/_recover"),
        (Method::POST, "/jobs/{}/_workers?add=1"),
        (Method::GET, "/jobs/{}/errors"),
        (Method::GET, "/ex/{}"),
        (Method::POST, "/ex/{}/_stop"),
        (Method::POST, "/ex/{}/_recover"),
        (Method::GET, "/ex/{}/errors"),
        (Method::GET, "/ex/{}/controller"),
        (Method::GET, "/assets/{}"),
        (Method::DELETE, "/assets/{}"),
        (Method::GET, "/assets/{}/latest"),
        (Method::GET, "/assets/standard/{}"),
        (Method::GET, "/txt/assets/{}"),
        (Method::GET, "/v1/jobs/{}"),
        (Method::GET, "/v1/ex/{}"),
    ];
    let addr = addr(&m);
    for (method, template) in &templates {
        for id in &ids {
            // Raw HTTP: a client library would resolve `..` before sending.
            let path = template.replace("{}", id);
            let request = format!(
                "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                 Content-Length: 2\r\nConnection: close\r\n\r\n{{}}"
            );
            let (status, answer) = exchange(&addr, request.as_bytes()).await;
            let status = status.unwrap_or_else(|| panic!("{method} {path}: no answer"));
            // Asset searches answer 200 with what matched (as Teraslice): nothing.
            let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b).trim();
            let empty_search = *method == Method::GET
                && template.contains("assets")
                && status == 200
                && (body == "[]" || template.starts_with("/txt"));
            assert!(
                (400..500).contains(&status) || empty_search,
                "{method} {path}: {status} {answer}"
            );
            assert!(
                !answer.contains("root:x:0:0"),
                "{method} {path} leaked a file"
            );
        }
    }
    assert_alive(&m, "after path traversal").await;
}

#[tokio::test]
async fn unknown_methods_and_broken_http_are_refused() {
    let m = TestMaster::start("").await;
    for method in ["PATCH", "TRACE", "OPTIONS", "PROPFIND", "BREW"] {
        let method = Method::from_bytes(method.as_bytes()).expect("method token");
        for path in ["/", "/jobs", "/ex/x", "/nope"] {
            let res = m
                .http
                .request(method.clone(), format!("{}{path}", m.url))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            assert_eq!(
                res.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
        }
    }
    let addr = addr(&m);
    let broken: [&[u8]; 6] = [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GET\r\n\r\n",
        b"G\x00T / HTTP/1.1\r\n\r\n",
        b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}",
        b"POST /jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ];
    for request in broken {
        let status = raw_status(&addr, request).await;
        assert!(
            status.is_none_or(|s| (400..500).contains(&s) || s == 505),
            "{:?}: {status:?}",
            String::from_utf8_lossy(request)
        );
    }
    // A body that is JSON of the wrong shape, and one that is not JSON.
    let (status, body) = m.raw(Method::POST, "/jobs", b"[1,2,3]".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = m.raw(Method::POST, "/jobs", vec![0xff, 0xfe, 0x00]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let value: Value = body;
    assert!(value.is_object());
    assert_alive(&m, "after unknown methods").await;
}
