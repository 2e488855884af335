//! The thread a set of watches runs on: a current-thread runtime with a
//! client of the options' configuration, stopped and joined on drop.

use std::future::Future;
use std::thread::JoinHandle;

use kube::Client;

use crate::config::{self, Options};
use crate::Error;

/// The options' client configuration and node name, with the runtime that
/// loaded them (not yet running anything).
pub(crate) struct Prepared {
    rt: tokio::runtime::Runtime,
    /// The client configuration.
    pub cfg: kube::Config,
    /// This node's name (the option, or the host's).
    pub node: String,
}

impl Prepared {
    /// Loads the configuration of `opts`. Errors: a bad URL, unreadable
    /// credentials, a bad kubeconfig; the API server is not contacted.
    pub fn new(opts: &Options) -> Result<Prepared, Error> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Runtime(e.to_string()))?;
        let cfg = rt.block_on(config::load(opts))?;
        let node = opts.node.clone().unwrap_or_else(config::host_node_name);
        Ok(Prepared { rt, cfg, node })
    }

    /// Runs `body` with a client on a thread named `name` until it ends;
    /// `fail` reports a client that cannot be built. On drop of the
    /// result, `stop` is called (it must make `body` end), then the thread
    /// is joined.
    pub fn spawn<B, Fut>(
        self,
        name: &str,
        stop: impl FnOnce() + Send + 'static,
        fail: impl FnOnce(String) + Send + 'static,
        body: B,
    ) -> Result<Background, Error>
    where
        B: FnOnce(Client) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        let Prepared { rt, cfg, .. } = self;
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                rt.block_on(async move {
                    match Client::try_from(cfg) {
                        Ok(client) => body(client).await,
                        Err(e) => fail(format!("cannot build the client: {e}")),
                    }
                });
            })
            .map_err(|e| Error::Runtime(e.to_string()))?;
        Ok(Background {
            stop: Some(Box::new(stop)),
            thread: Some(thread),
        })
    }
}

/// A running thread of watches; dropping it stops and joins it.
pub(crate) struct Background {
    stop: Option<Box<dyn FnOnce() + Send>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
