//! Syscall numbers by name for each ABI, derived from the kernel's uapi headers
//! (`gen-tables.sh`; one `name number` per line; x32 numbers carry the x32 bit).

use super::Abi;
use std::collections::HashMap;
use std::sync::OnceLock;

const X86_64: &str = include_str!("x86_64.txt");
const X32: &str = include_str!("x32.txt");
const X86: &str = include_str!("x86.txt");

fn text(abi: Abi) -> &'static str {
    match abi {
        Abi::X86_64 => X86_64,
        Abi::X32 => X32,
        Abi::X86 => X86,
    }
}

fn parse(text: &'static str) -> HashMap<&'static str, u32> {
    text.lines()
        .filter_map(|l| {
            let (name, nr) = l.split_once(' ')?;
            Some((name, nr.parse().ok()?))
        })
        .collect()
}

fn map(abi: Abi) -> &'static HashMap<&'static str, u32> {
    static MAPS: [OnceLock<HashMap<&'static str, u32>>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let i = match abi {
        Abi::X86_64 => 0,
        Abi::X32 => 1,
        Abi::X86 => 2,
    };
    MAPS[i].get_or_init(|| parse(text(abi)))
}

/// The number of syscall `name` in `abi`, if this table knows it.
pub fn lookup(abi: Abi, name: &str) -> Option<u32> {
    map(abi).get(name).copied()
}

/// Every syscall name known for `abi`, in table order.
pub fn names(abi: Abi) -> impl Iterator<Item = &'static str> {
    text(abi).lines().filter_map(|l| l.split(' ').next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_numbers_of_each_abi() {
        assert_eq!(lookup(Abi::X86_64, "read"), Some(0));
        assert_eq!(lookup(Abi::X86_64, "getppid"), Some(110));
        assert_eq!(lookup(Abi::X86_64, "clone3"), Some(435));
        assert_eq!(lookup(Abi::X86, "getppid"), Some(64));
        assert_eq!(lookup(Abi::X86, "socketcall"), Some(102));
        assert_eq!(lookup(Abi::X32, "read"), Some(0x4000_0000));
        assert_eq!(lookup(Abi::X32, "execve"), Some(0x4000_0000 + 520));
        assert_eq!(lookup(Abi::X86_64, "socketcall"), None);
        assert_eq!(lookup(Abi::X86_64, "no_such_call"), None);
        assert!(names(Abi::X86_64).count() > 350);
    }
}
