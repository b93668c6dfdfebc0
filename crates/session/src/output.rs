//! Where responses go. The session encodes into a buffer and hands full buffers to a
//! [`Sink`] — the connection's TLS stream in production, a `Vec` in tests — so a 100,000
//! message FETCH streams out in bounded memory instead of being built whole.

use async_trait::async_trait;
use portcullis_proto::encode::{Charset, Data, FetchWriter, StatusResponse};
use std::io;

/// The byte sink behind an [`Output`].
#[async_trait]
pub trait Sink: Send {
    /// Writes all of `bytes` (buffered or not: `Output::flush` ends with a flush).
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Pushes buffered bytes to the peer.
    async fn flush(&mut self) -> io::Result<()>;
}

/// A `Vec` sink for tests and tools.
#[async_trait]
impl Sink for Vec<u8> {
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.extend_from_slice(bytes);
        Ok(())
    }

    async fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Buffered response output of one connection.
pub struct Output<'a> {
    buf: Vec<u8>,
    sink: &'a mut dyn Sink,
}

impl std::fmt::Debug for Output<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output")
            .field("buffered", &self.buf.len())
            .finish()
    }
}

/// Buffered bytes above which [`Output::flush_if_full`] writes to the sink.
const FLUSH_AT: usize = 64 * 1024;

impl<'a> Output<'a> {
    /// Output into `sink`.
    pub fn new(sink: &'a mut dyn Sink) -> Output<'a> {
        Output {
            buf: Vec::with_capacity(4096),
            sink,
        }
    }

    /// Queues a status response.
    pub fn status(&mut self, response: &StatusResponse) {
        response.write(&mut self.buf);
    }

    /// Queues a data response.
    pub fn data(&mut self, data: &Data<'_>, charset: Charset) {
        data.write(&mut self.buf, charset);
    }

    /// Starts a FETCH response, written item by item.
    pub fn fetch(&mut self, seq: u32, charset: Charset) -> FetchWriter<'_> {
        FetchWriter::start(&mut self.buf, seq, charset)
    }

    /// Queues a continuation request.
    pub fn continuation(&mut self, text: &str) {
        portcullis_proto::encode::continuation(&mut self.buf, text);
    }

    /// Writes the buffer out when it is large (between responses of a long command).
    pub async fn flush_if_full(&mut self) -> io::Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.sink.write_all(&self.buf).await?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Writes everything queued and flushes the sink.
    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.sink.write_all(&self.buf).await?;
            self.buf.clear();
        }
        self.sink.flush().await
    }
}
