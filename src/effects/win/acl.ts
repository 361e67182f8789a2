// Who may do what to a file or folder on Windows: its owner and its DACL, read with advapi32
// through koffi. Windows' equivalent of the POSIX owner and mode checks (a folder "open to others"
// is one whose DACL grants anyone but you, SYSTEM and Administrators any access), and of mkdir -m
// 700: a protected DACL for you, SYSTEM and Administrators alone.
import { dll, koffi } from './koffi.js';

/** SIDs that may own and control pguard's files besides the user: what root is on Linux. */
export const SYSTEM_SIDS: ReadonlyMap<string, string> = new Map([
  ['S-1-5-18', 'SYSTEM'],
  ['S-1-5-32-544', 'Administrators'],
  ['S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464', 'TrustedInstaller'],
]);
/** Placeholders, never a real principal: CREATOR OWNER and OWNER RIGHTS stand for the owner. */
const OWNER_PLACEHOLDERS = new Set(['S-1-3-0', 'S-1-3-4']);

/** Access that lets its holder replace, rename, remove or re-permission an entry (or one in a folder). */
export const CONTROL_BITS = 0x40 /* FILE_DELETE_CHILD */ | 0x10000 /* DELETE */ | 0x40000 /* WRITE_DAC */ | 0x80000 /* WRITE_OWNER */ | 0x10000000 /* GENERIC_ALL */;
/** Access that lets its holder change a file's content. */
export const WRITE_BITS = CONTROL_BITS | 0x2 /* FILE_WRITE_DATA */ | 0x4 /* FILE_APPEND_DATA */ | 0x40000000 /* GENERIC_WRITE */;

/** inheritOnly: an ACE that applies only to what is created inside (it grants nothing on the folder itself). */
export interface Ace { readonly sid: string; readonly mask: number; readonly allow: boolean; readonly inheritOnly: boolean }
export interface Access { readonly owner: string; /** null: no DACL at all, everyone may do anything */ readonly aces: readonly Ace[] | null }

let api: any = null;
function lib(): any {
  if (api) return api;
  const k = koffi();
  const adv = dll('advapi32.dll');
  const kern = dll('kernel32.dll');
  k.struct('ACL_SIZE_INFORMATION', { AceCount: 'uint32', AclBytesInUse: 'uint32', AclBytesFree: 'uint32' });
  api = {
    k,
    GetNamedSecurityInfoW: adv.func('uint32 __stdcall GetNamedSecurityInfoW(const char16_t* name, int type, uint32 info, _Out_ void** owner, _Out_ void** group, _Out_ void** dacl, _Out_ void** sacl, _Out_ void** sd)'),
    SetNamedSecurityInfoW: adv.func('uint32 __stdcall SetNamedSecurityInfoW(const char16_t* name, int type, uint32 info, void* owner, void* group, void* dacl, void* sacl)'),
    GetAclInformation: adv.func('int __stdcall GetAclInformation(void* acl, _Out_ ACL_SIZE_INFORMATION* info, uint32 len, int cls)'),
    GetAce: adv.func('int __stdcall GetAce(void* acl, uint32 i, _Out_ void** ace)'),
    ConvertStringSidToSidW: adv.func('int __stdcall ConvertStringSidToSidW(const char16_t* s, _Out_ void** sid)'),
    InitializeAcl: adv.func('int __stdcall InitializeAcl(void* acl, uint32 len, uint32 rev)'),
    AddAccessAllowedAceEx: adv.func('int __stdcall AddAccessAllowedAceEx(void* acl, uint32 rev, uint32 flags, uint32 mask, void* sid)'),
    OpenProcessToken: adv.func('int __stdcall OpenProcessToken(void* proc, uint32 access, _Out_ void** token)'),
    GetTokenInformation: adv.func('int __stdcall GetTokenInformation(void* token, int cls, _Out_ uint8_t* info, uint32 len, _Out_ uint32* ret)'),
    GetCurrentProcess: kern.func('void* __stdcall GetCurrentProcess()'),
    CloseHandle: kern.func('int __stdcall CloseHandle(void* h)'),
    LocalFree: kern.func('void* __stdcall LocalFree(void* p)'),
  };
  return api;
}

/** A SID's string form (S-1-5-21-...) from its bytes at PTR (+ offset). */
function sidAt(ptr: unknown, offset: number): string {
  const k = lib().k;
  const head = k.decode(ptr, offset, 'uint8', 8) as number[];
  const bytes = k.decode(ptr, offset, 'uint8', 8 + 4 * head[1]!) as number[];
  let authority = 0;
  for (let i = 2; i < 8; i++) authority = authority * 256 + bytes[i]!;
  const subs: number[] = [];
  for (let i = 0; i < bytes[1]!; i++) subs.push(bytes[8 + 4 * i]! + bytes[9 + 4 * i]! * 0x100 + bytes[10 + 4 * i]! * 0x10000 + bytes[11 + 4 * i]! * 0x1000000);
  return `S-${bytes[0]}-${authority}${subs.map((s) => `-${s}`).join('')}`;
}

let userSid: string | null = null;
/** The SID of the user this process runs as. */
export function currentUserSid(): string {
  if (userSid) return userSid;
  const a = lib();
  const token = [null];
  if (!a.OpenProcessToken(a.GetCurrentProcess(), 0x0008 /* TOKEN_QUERY */, token)) throw new Error('OpenProcessToken failed');
  try {
    const buf = Buffer.alloc(512);
    const len = [0];
    if (!a.GetTokenInformation(token[0], 1 /* TokenUser */, buf, buf.length, len)) throw new Error('GetTokenInformation failed');
    // TOKEN_USER: { PSID Sid; DWORD Attributes }, the SID itself further in the same buffer.
    const sidPtr = a.k.decode(buf, 'void*');
    userSid = sidAt(sidPtr, 0);
    return userSid;
  } finally {
    a.CloseHandle(token[0]);
  }
}

/** The owner and DACL of PATH (a file or folder), or null when it cannot be read. */
export function readAccess(path: string): Access | null {
  const a = lib();
  const owner = [null]; const group = [null]; const dacl = [null]; const sacl = [null]; const sd = [null];
  // SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION
  if (a.GetNamedSecurityInfoW(path, 1, 0x1 | 0x4, owner, group, dacl, sacl, sd) !== 0) return null;
  try {
    const ownerSid = owner[0] ? sidAt(owner[0], 0) : '';
    if (!dacl[0]) return { owner: ownerSid, aces: null };
    const info: { AceCount?: number } = {};
    a.GetAclInformation(dacl[0], info, 12, 2 /* AclSizeInformation */);
    const aces: Ace[] = [];
    for (let i = 0; i < (info.AceCount ?? 0); i++) {
      const ace = [null];
      if (!a.GetAce(dacl[0], i, ace)) continue;
      const [type, flags] = a.k.decode(ace[0], 0, 'uint8', 2) as number[];
      if (type !== 0 && type !== 1) continue; // ACCESS_ALLOWED / ACCESS_DENIED; object and callback ACEs do not apply to files
      aces.push({ allow: type === 0, inheritOnly: (flags! & 0x8) !== 0, mask: a.k.decode(ace[0], 4, 'uint32') as number, sid: sidAt(ace[0], 8) });
    }
    return { owner: ownerSid, aces };
  } finally {
    a.LocalFree(sd[0]);
  }
}

/** Who is trusted to own pguard's files: the user, and Windows' own (SYSTEM, Administrators). */
export function isTrustedOwner(sid: string): boolean {
  return sid === currentUserSid() || SYSTEM_SIDS.has(sid);
}

/**
 * The principals besides the user, SYSTEM and Administrators that the DACL allows any of BITS
 * (everyone, with no DACL). `onItself`: only ACEs that apply to the object itself, not inherit-only
 * ones for what is created inside it.
 */
export function othersAllowed(access: Access, bits: number, opts: { onItself?: boolean } = {}): string[] {
  if (access.aces === null) return ['Everyone (the folder has no DACL)'];
  const me = currentUserSid();
  const out = new Set<string>();
  for (const ace of access.aces) {
    if (!ace.allow || (ace.mask & bits) === 0 || (opts.onItself && ace.inheritOnly)) continue;
    if (ace.sid === me || SYSTEM_SIDS.has(ace.sid) || OWNER_PLACEHOLDERS.has(ace.sid)) continue;
    out.add(ace.sid === 'S-1-1-0' ? 'Everyone' : ace.sid === 'S-1-5-32-545' ? 'Users' : ace.sid === 'S-1-5-11' ? 'Authenticated Users' : ace.sid);
  }
  return [...out];
}

/** mkdir -m 700's equivalent: a protected DACL (nothing inherited) giving you, SYSTEM and Administrators full control. */
export function makePrivate(path: string): boolean {
  const a = lib();
  const acl = Buffer.alloc(1024);
  if (!a.InitializeAcl(acl, acl.length, 2 /* ACL_REVISION */)) return false;
  for (const s of [currentUserSid(), 'S-1-5-18', 'S-1-5-32-544']) {
    const sid = [null];
    if (!a.ConvertStringSidToSidW(s, sid)) return false;
    try {
      // OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE, FILE_ALL_ACCESS
      if (!a.AddAccessAllowedAceEx(acl, 2, 0x1 | 0x2, 0x1f01ff, sid[0])) return false;
    } finally {
      a.LocalFree(sid[0]);
    }
  }
  // DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION
  return a.SetNamedSecurityInfoW(path, 1, 0x4 | 0x80000000, null, null, acl, null) === 0;
}
