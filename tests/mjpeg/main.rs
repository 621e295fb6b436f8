//! The MJPEG decoder against zune-jpeg, on frames without DHT, and on hostile bytes.

mod accuracy;
mod common;
mod hostile;
mod no_dht;
