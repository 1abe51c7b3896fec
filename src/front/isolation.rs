//! `nook isolation`: see below.

use crate::cli::front_config::IsolationArgs;
use crate::error::Result;
use crate::image::store::Store;
use std::io::Write;

pub fn command(_store: &Store, _a: &IsolationArgs, _out: &mut dyn Write) -> Result<i32> {
    Err(crate::error::Error::Usage("not yet".into()))
}
