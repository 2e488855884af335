//! `sonde agent --otlp URL`: every second's series, as an OpenTelemetry
//! metrics export request, to an OTLP/HTTP receiver (a collector, or a
//! backend that takes OTLP). Headers (an API key, say) come from
//! `--otlp-header` or the standard `OTEL_EXPORTER_OTLP_HEADERS`
//! (`k1=v1,k2=v2`, which keeps them off the command line); they are never
//! printed.

use std::time::Duration;

use anyhow::Result;
use clap::Args;
use sonde_transport::otlp::{OtlpConfig, OtlpExporter};

use crate::UsageError;

/// Requests held while the receiver is away: ten minutes of seconds.
const QUEUE: usize = 600;

/// The OTLP flags of `sonde agent`.
#[derive(Args, Debug, Default)]
pub struct OtlpArgs {
    /// Export the series to this OTLP/HTTP receiver (`http[s]://HOST[:PORT][/PATH]`;
    /// without a path, /v1/metrics).
    #[arg(long = "otlp", value_name = "URL")]
    otlp: Option<String>,
    /// A header sent with each export request (repeatable; also read from
    /// OTEL_EXPORTER_OTLP_HEADERS).
    #[arg(long = "otlp-header", value_name = "K=V")]
    otlp_headers: Vec<String>,
    /// The CA file that signs the https:// receiver's certificate (default: the system's roots).
    #[arg(long = "otlp-ca", value_name = "FILE")]
    otlp_ca: Option<String>,
}

impl OtlpArgs {
    /// Whether `--otlp` was given.
    pub fn enabled(&self) -> bool {
        self.otlp.is_some()
    }
}

/// The running export, if asked for.
pub struct Otlp {
    exporter: OtlpExporter,
    resource: Vec<(String, String)>,
}

fn header(kv: &str, from: &str) -> Result<(String, String)> {
    match kv.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        // name the key only: the value may be a secret
        _ => Err(UsageError(format!(
            "{from}: expected KEY=VALUE in '{}'",
            kv.split('=').next().unwrap_or("")
        ))
        .into()),
    }
}

impl Otlp {
    /// Starts the exporter when `--otlp` is given; `host` names the
    /// resource (`host.name`).
    pub fn start(args: &OtlpArgs, host: Option<&str>) -> Result<Option<Otlp>> {
        let Some(url) = &args.otlp else {
            return Ok(None);
        };
        let mut headers = Vec::new();
        if let Ok(env) = std::env::var("OTEL_EXPORTER_OTLP_HEADERS") {
            for kv in env.split(',').filter(|s| !s.trim().is_empty()) {
                headers.push(header(kv, "OTEL_EXPORTER_OTLP_HEADERS")?);
            }
        }
        for kv in &args.otlp_headers {
            headers.push(header(kv, "--otlp-header")?);
        }
        let exporter = OtlpExporter::start(OtlpConfig {
            url: url.clone(),
            headers,
            ca: args.otlp_ca.clone(),
            timeout: Duration::from_secs(5),
            queue: QUEUE,
        })
        .map_err(|e| UsageError(format!("--otlp: {e}")))?;
        let mut resource = vec![("service.name".to_string(), "sonde-agent".to_string())];
        if let Some(h) = host {
            resource.push(("host.name".into(), h.to_string()));
        }
        Ok(Some(Otlp { exporter, resource }))
    }

    /// Queues one second's batch.
    pub fn push(&self, b: &sonde_agent::Batch) {
        if b.series.is_empty() {
            return;
        }
        let req = sonde_agent::otlp::encode(b, &self.resource);
        if let Ok(body) = serde_json::to_vec(&req) {
            self.exporter.push(body);
        }
    }

    /// Sends what is left (at most a few seconds), and says what was lost.
    pub fn finish(self) {
        let st = self.exporter.shutdown(Duration::from_secs(5));
        if st.dropped + st.rejected > 0 || st.last_error.is_some() {
            eprintln!(
                "sonde agent: OTLP: {} requests delivered, {} dropped (queue full), {} refused{}",
                st.sent,
                st.dropped,
                st.rejected,
                st.last_error
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default()
            );
        }
    }
}
