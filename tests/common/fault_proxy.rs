//! A fault-injecting HTTP proxy to put between the S3 client and SeaweedFS. It forwards one
//! request per connection (answering `Connection: close`), so each request meets the fault in
//! force when it arrives.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to the next requests.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Forward untouched.
    Pass,
    /// Answer with this status and S3 error code, without forwarding.
    Status { status: u16, code: &'static str },
    /// Wait this long before forwarding.
    Delay(Duration),
    /// Read half of the request body, then drop the connection.
    CutMidUpload,
}

struct State {
    fault: Fault,
    /// How many requests still get the fault (then `Pass`); `usize::MAX` for all.
    remaining: usize,
}

pub struct FaultProxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port in front of `upstream` (`127.0.0.1:PORT`).
    pub async fn start(upstream_port: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            fault: Fault::Pass,
            remaining: 0,
        }));
        let requests = Arc::new(AtomicUsize::new(0));
        let task = {
            let state = state.clone();
            let requests = requests.clone();
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let state = state.clone();
                    let requests = requests.clone();
                    tokio::spawn(async move {
                        let _ = serve(client, upstream_port, state, requests).await;
                    });
                }
            })
        };
        FaultProxy {
            endpoint,
            state,
            requests,
            task,
        }
    }

    /// Applies `fault` to the next `times` requests (`usize::MAX`: until changed).
    pub fn set(&self, fault: Fault, times: usize) {
        *self.state.lock().unwrap() = State {
            fault,
            remaining: times,
        };
    }

    /// Requests seen so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut client: TcpStream,
    upstream_port: u16,
    state: Arc<Mutex<State>>,
    requests: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    // Request head.
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 8192];
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    requests.fetch_add(1, Ordering::SeqCst);
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let fault = {
        let mut s = state.lock().unwrap();
        if s.remaining == 0 {
            Fault::Pass
        } else {
            if s.remaining != usize::MAX {
                s.remaining -= 1;
            }
            s.fault.clone()
        }
    };
    if let Fault::CutMidUpload = fault {
        while buf.len() < head_end + length / 2 {
            let mut chunk = [0u8; 8192];
            if client.read(&mut chunk).await? == 0 {
                break;
            }
        }
        return Ok(()); // dropped: the client sees the connection reset mid-upload
    }
    // The rest of the body.
    while buf.len() < head_end + length {
        let mut chunk = vec![0u8; 65536];
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    match fault {
        Fault::Status { status, code } => {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by the test proxy</Message><RequestId>test</RequestId></Error>"
            );
            let response = format!(
                "HTTP/1.1 {status} Injected\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(response.as_bytes()).await?;
            return client.shutdown().await;
        }
        Fault::Delay(delay) => tokio::time::sleep(delay).await,
        Fault::Pass | Fault::CutMidUpload => {}
    }
    // Forward, asking the server to close so that the response ends at EOF.
    let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port)).await?;
    let head = head.replacen("\r\n", "\r\nConnection: close\r\n", 1);
    let head = strip_header(&head, "connection", 1);
    upstream.write_all(head.as_bytes()).await?;
    upstream.write_all(&buf[head_end..]).await?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response).await?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(response.len(), |p| p + 4);
    let response_head = String::from_utf8_lossy(&response[..split]).to_string();
    let response_head = strip_header(&response_head, "connection", 0).replacen(
        "\r\n",
        "\r\nConnection: close\r\n",
        1,
    );
    client.write_all(response_head.as_bytes()).await?;
    client.write_all(&response[split..]).await?;
    client.shutdown().await
}

/// Removes every `name:` header line of `head` but the first `keep`.
fn strip_header(head: &str, name: &str, keep: usize) -> String {
    let mut kept = 0;
    head.split_inclusive("\r\n")
        .filter(|line| {
            let is = line
                .split_once(':')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name));
            if is {
                kept += 1;
                kept <= keep
            } else {
                true
            }
        })
        .collect()
}
