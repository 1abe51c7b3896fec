//! Hostname and NIS domain name of the current uts namespace.

use crate::error::{Error, Result, SysResult};

pub fn set_hostname(name: &str) -> Result<()> {
    nix::unistd::sethostname(name).sys("sethostname", name)
}

pub fn set_domainname(name: &str) -> Result<()> {
    // SAFETY: the pointer and length describe `name`'s bytes, valid for the call.
    let rc = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    if rc != 0 {
        return Err(Error::sys("setdomainname", name, nix::errno::Errno::last()));
    }
    Ok(())
}
