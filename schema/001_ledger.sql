-- fieldlog ledger schema, version 1.
-- Every replicated table begins with id, scope, deleted (the engine's columns); the rest are cells.
-- Ids are 16-byte UUIDs. Dates are ISO 8601 text (YYYY-MM-DD), times ISO 8601 UTC text.
-- Scope "registry" (written only by the county root key): departments, cadres, devices,
-- enterprises, linkages. Scope "ent:<enterprise uuid>": visits, demands, demand_events.

CREATE TABLE departments(
    id BLOB PRIMARY KEY, scope TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    name TEXT,            -- 单位名称, unique among live departments
    kind TEXT,            -- 县直部门 / 镇街 / 园区 / 公共服务企业
    head TEXT,            -- 负责人
    liaison TEXT,         -- 联络员
    phone TEXT
);

CREATE TABLE cadres(
    id BLOB PRIMARY KEY, scope TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    name TEXT,
    title TEXT,           -- 职务
    department_id BLOB,
    rank TEXT,            -- 职级
    mobile TEXT
);

CREATE TABLE devices(
    id BLOB PRIMARY KEY, scope TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    public_key TEXT,      -- Ed25519 public key, 64 hex digits; the row id is derived from it
    code TEXT,            -- short device code (D001, D002, ...) used in demand numbers
    role TEXT,            -- cadre / department / coordinator / supervisor / operator
    cadre_id BLOB,
    department_id BLOB,
    label TEXT,
    enrolled_at TEXT,
    revoked INTEGER,      -- 1 once revoked
    revoked_feeds TEXT    -- JSON object: scope -> last accepted sequence number
);

CREATE TABLE enterprises(
    id BLOB PRIMARY KEY, scope TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    name TEXT,
    uscc TEXT,            -- 统一社会信用代码, GB 32100 check, unique among live enterprises
    uscc_missing_reason TEXT,
    township TEXT,        -- 所属镇街/园区
    industry TEXT,
    size TEXT,
    is_key INTEGER,       -- 重点企业
    contact_name TEXT,
    contact_phone TEXT    -- personal data
);

CREATE TABLE linkages(
    id BLOB PRIMARY KEY, scope TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    cadre_id BLOB,
    enterprise_id BLOB,
    role TEXT,            -- lead (主包) / assisting (协包)
    start_date TEXT,
    end_date TEXT,
    active INTEGER,       -- 1 while the linkage holds; at most one active lead per enterprise
    closed_feeds TEXT     -- when ended: JSON object, device key -> last sequence accepted in the
                          -- enterprise's scope (the cadre's devices' feeds are closed there)
);

CREATE TABLE visits(
    id BLOB PRIMARY KEY, scope TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    enterprise_id BLOB,
    cadre_id BLOB,        -- lead cadre of the visit
    visit_date TEXT,
    participants TEXT,
    mode TEXT,            -- 实地 / 电话 / 座谈 / 视频
    service_day INTEGER,  -- 1 on an Enterprise Service Day (企业服务日)
    topics TEXT,
    notes TEXT,           -- notes on operations
    no_demands INTEGER,   -- 1 when the enterprise explicitly raised no demand
    solved_on_spot TEXT,
    next_visit_date TEXT,
    attachments TEXT      -- photo hashes, one per line
);

CREATE TABLE demands(
    id BLOB PRIMARY KEY, scope TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    number TEXT,          -- GT-<year>-<device code>-<nnnn>, see docs/ledger.md
    channel TEXT,         -- 服务日走访 / 日常走访 / 12345转办 / 企业自主提交 / 会议 / 上级交办
    enterprise_id BLOB,
    visit_id BLOB,
    cadre_id BLOB,        -- registering cadre
    type TEXT,            -- 政策咨询 / 服务求助 / 意见建议 / 投诉
    category TEXT,        -- 政策兑现 / 融资 / 用工 / 用地 / 审批 / ... / 其他
    subcategory TEXT,
    title TEXT,
    content TEXT,
    expected TEXT,        -- expected outcome
    urgency TEXT,         -- 一般 / 紧急 / 特急
    state TEXT,           -- DRAFT, PENDING_INTAKE, ... (workflow in a later schema)
    lead_department_id BLOB,
    co_department_ids TEXT,
    registered_at TEXT,
    outcome TEXT,
    reply TEXT,
    resolved INTEGER,
    satisfaction TEXT,
    remarks TEXT
);

CREATE TABLE demand_events(
    id BLOB PRIMARY KEY, scope TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    demand_id BLOB,
    at TEXT,
    actor_key TEXT,       -- the device key that acted
    actor_name TEXT,
    role TEXT,
    action TEXT,
    from_state TEXT,
    to_state TEXT,
    comment TEXT
);
