//! Raw system calls for the seccomp tests: `syscall NR [ARGS...]` through the
//! x86_64 entry (NR may carry the x32 bit, 0x40000000) and `syscall32 NR
//! [ARGS...]` through `int 0x80` (the i386 entry, AUDIT_ARCH_I386; five
//! arguments, truncated to 32 bits). A filter that kills or traps leaves no
//! report: the probe dies by SIGSYS and the runtime's exit status says so.

use serde_json::{json, Value};

use crate::errno;

/// Decimal or 0x-prefixed hexadecimal.
pub fn number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn args6(args: &[u64]) -> Option<[u64; 6]> {
    let mut a = [0u64; 6];
    if args.len() > 6 {
        return None;
    }
    a[..args.len()].copy_from_slice(args);
    Some(a)
}

fn answer(ret: i64, errno: Option<String>) -> Value {
    json!({ "ret": ret, "errno": errno })
}

/// syscall(2) with up to six arguments.
pub fn syscall64(nr: u64, args: &[u64]) -> Option<Value> {
    let a = args6(args)?;
    // SAFETY: a raw system call with caller-chosen numbers; the tests only pass
    // calls that take no pointers (or ignore their arguments), so no memory of
    // this process is read or written by the kernel on our behalf.
    let ret = unsafe { libc::syscall(nr as libc::c_long, a[0], a[1], a[2], a[3], a[4], a[5]) };
    Some(if ret == -1 {
        answer(-1, Some(errno::last()))
    } else {
        answer(ret, None)
    })
}

/// The i386 entry (`int 0x80`) with up to five arguments.
pub fn syscall32(nr: u64, args: &[u64]) -> Option<Value> {
    if args.len() > 5 {
        return None;
    }
    let a = args6(args)?;
    let mut eax = nr as u32 as u64;
    // rbx is reserved by LLVM: swap the first argument in and out around the call.
    // SAFETY: as in syscall64; `int 0x80` clobbers only eax (the result) and the
    // swapped register, which is restored before the block ends.
    unsafe {
        std::arch::asm!(
            "xchg {a0}, rbx",
            "int 0x80",
            "xchg {a0}, rbx",
            a0 = inout(reg) a[0] as u32 as u64 => _,
            inout("rax") eax,
            in("rcx") a[1] as u32 as u64,
            in("rdx") a[2] as u32 as u64,
            in("rsi") a[3] as u32 as u64,
            in("rdi") a[4] as u32 as u64,
        );
    }
    let ret = i64::from(eax as u32 as i32);
    Some(if (-4095..0).contains(&ret) {
        answer(-1, Some(errno::name(-ret as i32)))
    } else {
        answer(ret, None)
    })
}

fn one(abi32: bool, words: &[String]) -> Option<Value> {
    let nums: Option<Vec<u64>> = words.iter().map(|w| number(w)).collect();
    let nums = nums?;
    let (nr, args) = nums.split_first()?;
    if abi32 {
        syscall32(*nr, args)
    } else {
        syscall64(*nr, args)
    }
}

/// `syscall`/`syscall32` with their arguments parsed. Several calls may be
/// given, separated by `+`: the answer is then `{"calls": [...]}`, in order.
pub fn run(abi32: bool, words: &[String]) -> Option<Value> {
    let calls: Vec<&[String]> = words.split(|w| w == "+").collect();
    if calls.len() == 1 {
        return one(abi32, calls[0]);
    }
    let answers: Option<Vec<Value>> = calls.iter().map(|c| one(abi32, c)).collect();
    Some(json!({ "calls": answers? }))
}

/// `syscall-loop COUNT NR [ARGS...]`: make the same call COUNT times, report the
/// mean time per call (for the filter-overhead benchmark; the result is not checked).
pub fn repeat(words: &[String]) -> Option<Value> {
    let nums: Option<Vec<u64>> = words.iter().map(|w| number(w)).collect();
    let nums = nums?;
    let (count, call) = nums.split_first()?;
    let (nr, args) = call.split_first()?;
    let a = args6(args)?;
    let start = std::time::Instant::now();
    for _ in 0..*count {
        // SAFETY: as in syscall64.
        unsafe { libc::syscall(*nr as libc::c_long, a[0], a[1], a[2], a[3], a[4], a[5]) };
    }
    let ns = start.elapsed().as_nanos() as f64 / (*count).max(1) as f64;
    Some(json!({ "nr": nr, "count": count, "ns_per_call": ns }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_decimal_and_hex() {
        assert_eq!(number("110"), Some(110));
        assert_eq!(number("0xffffffffffffffff"), Some(u64::MAX));
        assert_eq!(number("x"), None);
    }

    #[test]
    fn getppid_through_both_entries() {
        let parent = std::os::unix::process::parent_id() as i64;
        let v = run(false, &["110".into(), "7".into()]).unwrap();
        assert_eq!(v["ret"], parent);
        let v = run(true, &["64".into()]).unwrap();
        assert_eq!(v["ret"], parent);
        let v = run(false, &["100000".into()]).unwrap();
        assert_eq!(v["errno"], "ENOSYS");
        assert!(run(false, &[]).is_none());
        let words: Vec<String> = ["110", "+", "100000", "1"].map(String::from).to_vec();
        let v = run(false, &words).unwrap();
        assert_eq!(v["calls"][0]["ret"], parent);
        assert_eq!(v["calls"][1]["errno"], "ENOSYS");
        let v = repeat(&["10".into(), "110".into()]).unwrap();
        assert!(v["ns_per_call"].as_f64().unwrap() > 0.0);
    }
}
