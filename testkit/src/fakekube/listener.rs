//! A TCP listener whose accepted connections can all be cut at once, so pausing the fake closes
//! keep-alive connections and watches as well as the listening socket. With a TLS config it
//! completes the handshake before handing a connection out, and tells the handlers which client
//! certificate the peer showed ([`Peer`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The other end of a connection: the client certificate it showed (DER).
#[derive(Debug, Clone)]
pub(super) struct Peer {
    /// The first certificate of the chain the client sent over TLS, if any.
    pub cert: Option<Vec<u8>>,
}

impl<'a> axum::extract::connect_info::Connected<axum::serve::IncomingStream<'a, KillableListener>>
    for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'a, KillableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A plain or TLS connection.
trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}

/// Listener handing out [`KillableIo`] connections tied to one token.
pub(super) struct KillableListener {
    inner: TcpListener,
    kill: CancellationToken,
    tls: Option<TlsAcceptor>,
}

impl KillableListener {
    /// Wraps a bound listener; cancelling `kill` fails every connection it accepted. With
    /// `tls`, connections are TLS.
    pub fn new(
        inner: TcpListener,
        kill: CancellationToken,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> KillableListener {
        KillableListener {
            inner,
            kill,
            tls: tls.map(TlsAcceptor::from),
        }
    }
}

impl axum::serve::Listener for KillableListener {
    type Io = KillableIo;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let (inner, cert): (Box<dyn Conn>, _) = match &self.tls {
                        None => (Box::new(stream), None),
                        Some(tls) => {
                            // A client that fails the handshake (or only probes the port) is
                            // dropped, as Go's server does.
                            let Ok(Ok(tls)) =
                                tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await
                            else {
                                continue;
                            };
                            let cert = tls
                                .get_ref()
                                .1
                                .peer_certificates()
                                .and_then(|c| c.first())
                                .map(|c| c.to_vec());
                            (Box::new(tls), cert)
                        }
                    };
                    let killed = Box::pin(self.kill.clone().cancelled_owned());
                    return (KillableIo { inner, killed }, Peer { cert });
                }
                // Transient accept errors (e.g. too many open files): back off briefly, like axum does.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr().map(|_| Peer { cert: None })
    }
}

/// A connection that fails all I/O once its token is cancelled.
pub(super) struct KillableIo {
    inner: Box<dyn Conn>,
    killed: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl KillableIo {
    fn check(&mut self, cx: &mut Context<'_>) -> Result<(), io::Error> {
        if self.killed.as_mut().poll(cx).is_ready() {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "fake apiserver paused",
            ));
        }
        Ok(())
    }
}

impl AsyncRead for KillableIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
