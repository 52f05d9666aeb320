"""Write learning/data/eval_requests.json: the request texts of the learning evaluation set.

Each kind of request has several hand-written phrasings and slot values (file names, services,
libraries); the script expands them deterministically into distinct request texts. A kind also
names the execution path a developer's session took for it (subagents, tools, MCP endpoints),
its usual duration and failure rate, and whether it is ``seen`` (present in the past) or kept
``unseen`` (appears only in the future, to measure false matches).

    python benchmarks/data/make_learning_requests.py   # rewrites the JSON file
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "learning" / "data" / "eval_requests.json"
PER_KIND = 20
PER_UNSEEN_KIND = 12

PY_FILES = ["src/billing/invoice.py", "app/models/user.py", "services/payments.py", "api/handlers.py", "worker/tasks.py", "utils/dates.py"]
JS_FILES = ["src/components/Cart.tsx", "web/app.js", "src/hooks/useAuth.ts", "frontend/checkout.js", "src/store/orders.ts"]
FUNCS = ["parse_invoice", "get_user_by_email", "calculate_tax", "refresh_token", "apply_discount", "sync_inventory", "send_receipt"]
SERVICES = ["orders", "billing", "inventory", "notifications", "accounts", "search"]
TABLES = ["orders", "users", "payments", "audit_log", "sessions", "products"]
LIBS = ["requests", "django", "fastapi", "sqlalchemy", "pydantic", "numpy", "lodash", "axios", "react-router"]
COMPONENTS = ["DatePicker", "UserAvatar", "CheckoutForm", "NavBar", "ProductCard", "SearchBox", "Modal"]

KINDS: list[dict] = [
    dict(kind="fix_python_exception", intent="debugging", agents=[], tools=["Read", "Grep", "Edit", "Bash"], endpoints=[],
         duration=45000, fail=0.08, templates=[
             "I'm getting a KeyError: 'customer_id' in {pyfile} when I run the import job, can you fix it?",
             "{func} in {pyfile} raises AttributeError: 'NoneType' object has no attribute 'strip' on some inputs. Please debug and fix.",
             "There's a traceback coming from {pyfile} line 88 — TypeError: unsupported operand type(s) for +: 'int' and 'str'. Fix it",
             "Our cron job crashes with ValueError in {func}; here is the stack trace from the logs. Find the root cause and patch it.",
             "Getting an IndexError: list index out of range from {func} when the list is empty, fix the bug",
             "python exception in {pyfile}: ZeroDivisionError when the cart total is 0. can you track it down and fix"]),
    dict(kind="fix_js_type_error", intent="debugging", agents=[], tools=["Read", "Grep", "Edit", "Bash"], endpoints=[],
         duration=42000, fail=0.08, templates=[
             "Uncaught TypeError: Cannot read properties of undefined (reading 'map') in {jsfile}, please fix",
             "The page crashes with 'undefined is not a function' coming from {jsfile}. Debug it.",
             "{jsfile} throws TypeError: items.filter is not a function when the API returns null — fix the bug",
             "Console shows Cannot read property 'length' of null at {jsfile}:42, find out why and fix it",
             "fix the runtime error in {jsfile}: 'Cannot destructure property id of undefined'"]),
    dict(kind="flaky_test", intent="testing", agents=["test-runner"], tools=["Agent", "Read", "Bash", "Edit"], endpoints=[],
         duration=120000, fail=0.15, templates=[
             "test_{func} is flaky in CI, it passes locally but fails about one run in five. Figure out why and make it deterministic.",
             "The integration test for the {svc} service fails intermittently with a timeout. Can you stabilise it?",
             "Our pytest suite has a flaky test around {func} that depends on ordering — please find it and fix it",
             "CI keeps failing randomly on test_{func}; looks like a race condition. Investigate and make the test reliable.",
             "Intermittent failure in the {svc} tests: sometimes the assertion on the timestamp fails. Make it stop flaking."]),
    dict(kind="write_unit_tests", intent="testing", agents=["test-writer"], tools=["Agent", "Read", "Write", "Bash"], endpoints=[],
         duration=90000, fail=0.06, templates=[
             "Write unit tests for {func} in {pyfile}, cover the edge cases",
             "Add pytest tests for the {svc} module; we have zero coverage there right now",
             "Can you write tests for {func}? Include empty input, invalid input and the happy path.",
             "Please increase test coverage of {pyfile} to at least 80% with proper unit tests",
             "create a test file for {func} using pytest fixtures and parametrize",
             "I need unit tests for the {svc} helpers before I refactor them"]),
    dict(kind="add_rest_endpoint", intent="api_design", agents=["backend-architect"], tools=["Agent", "Read", "Edit", "Write", "Bash"], endpoints=[],
         duration=150000, fail=0.1, templates=[
             "Add a REST endpoint GET /api/{svc}/{{id}} that returns the record as JSON with 404 when missing",
             "Create a new POST /v1/{svc} endpoint in our FastAPI app with request validation and a 201 response",
             "We need an endpoint to list {svc} with pagination (limit/offset) and filtering by status",
             "Implement a PATCH route for updating {svc} partially; return the updated object",
             "add an API route /api/{svc}/export that streams a CSV download",
             "Design and add a DELETE endpoint for {svc} with soft delete and proper status codes"]),
    dict(kind="openapi_spec", intent="api_design", agents=["api-documenter"], tools=["Agent", "Read", "Write"], endpoints=[],
         duration=80000, fail=0.05, templates=[
             "Generate an OpenAPI 3 spec for the {svc} service from the route handlers",
             "Write the swagger documentation for our {svc} API endpoints, including request and response schemas",
             "Our openapi.yaml is out of date for {svc}; regenerate it from the code",
             "Document the {svc} REST API in OpenAPI format with examples for every endpoint",
             "produce an openapi spec so the frontend team can generate a client for {svc}"]),
    dict(kind="slow_sql_query", intent="performance", agents=["db-optimizer"], tools=["Agent", "Read", "mcp__postgres__query", "Edit"], endpoints=["postgres/query"],
         duration=110000, fail=0.1, templates=[
             "The query that loads {table} on the dashboard takes 8 seconds. Run EXPLAIN ANALYZE and speed it up.",
             "This SQL against the {table} table is slow in production, can you add the right index?",
             "Optimise the report query joining {table} and users; it does a sequential scan",
             "our {table} listing endpoint is slow because of the database query, please profile the SQL and fix it",
             "Why is SELECT ... FROM {table} WHERE created_at > now() - interval '7 days' so slow? Make it fast.",
             "Postgres query on {table} times out under load — analyse the plan and optimise"]),
    dict(kind="profile_python", intent="performance", agents=[], tools=["Bash", "Read", "Edit"], endpoints=[],
         duration=95000, fail=0.1, templates=[
             "{func} is way too slow on large inputs, profile it with cProfile and optimise the hot loop",
             "The batch job in {pyfile} takes 40 minutes; profile it and make it faster",
             "Can you find where the CPU time goes in {func}? Use a profiler and speed it up",
             "Reduce the runtime of {pyfile}, it's spending most of its time in pure Python loops",
             "optimise {func} — it is O(n^2) and we call it on 100k rows"]),
    dict(kind="react_component", intent="frontend", agents=["frontend-developer"], tools=["Agent", "Read", "Write", "Edit", "Bash"], endpoints=[],
         duration=130000, fail=0.08, templates=[
             "Build a React {comp} component with TypeScript props and a loading state",
             "Create a reusable {comp} component in React that matches our design system",
             "I need a new {comp} React component with unit tests and a storybook story",
             "Implement the {comp} UI component in React using hooks, it should be keyboard accessible",
             "make a {comp} component (React + Tailwind) for the settings page"]),
    dict(kind="css_layout_bug", intent="frontend", agents=["frontend-developer"], tools=["Agent", "Read", "Edit"], endpoints=[],
         duration=50000, fail=0.1, templates=[
             "The {comp} overflows its container on mobile screens, fix the CSS",
             "Flexbox layout is broken on the checkout page: the {comp} wraps onto a second line",
             "On Safari the {comp} is misaligned by a few pixels, can you fix the styles?",
             "the sticky header covers the {comp} when scrolling, fix the z-index/CSS issue",
             "Fix the responsive layout: {comp} should stack vertically below 768px"]),
    dict(kind="docker_build", intent="devops", agents=["devops-engineer"], tools=["Agent", "Read", "Edit", "Bash"], endpoints=[],
         duration=140000, fail=0.12, templates=[
             "Our Docker image for {svc} is 2GB; make it smaller with a multi-stage build",
             "docker build fails for the {svc} service with 'pip install' errors, fix the Dockerfile",
             "Write a Dockerfile for the {svc} service with a non-root user and a healthcheck",
             "The container for {svc} can't find its config at runtime; fix the Dockerfile and compose file",
             "speed up our Docker builds for {svc} by ordering layers so the dependency cache is reused"]),
    dict(kind="github_actions_ci", intent="devops", agents=["devops-engineer"], tools=["Agent", "Read", "Write", "Bash", "mcp__github__list_workflow_runs"], endpoints=["github/list_workflow_runs"],
         duration=160000, fail=0.12, templates=[
             "Set up a GitHub Actions workflow that runs pytest and ruff on every pull request",
             "Our CI workflow for {svc} is failing on the lint step since yesterday; check the workflow runs and fix it",
             "Add caching of pip dependencies to the GitHub Actions pipeline so CI is faster",
             "Create a GitHub workflow that builds and publishes the {svc} Docker image on tags",
             "CI is red on main — look at the latest GitHub Actions runs and fix whatever broke",
             "add a matrix build for python 3.10, 3.11 and 3.12 to our github actions"]),
    dict(kind="k8s_crashloop", intent="devops", agents=["devops-engineer"], tools=["Agent", "Bash", "mcp__kubernetes__get_pods", "mcp__kubernetes__get_logs"], endpoints=["kubernetes/get_pods", "kubernetes/get_logs"],
         duration=100000, fail=0.15, templates=[
             "The {svc} pod is in CrashLoopBackOff in staging, find out why",
             "Kubernetes keeps restarting the {svc} deployment; check the pod logs and tell me what's wrong",
             "{svc} pods are OOMKilled after the last deploy — investigate the cluster",
             "Our {svc} service in k8s fails its readiness probe, look at the pods and logs",
             "pods for {svc} stuck in CrashLoopBackOff since the config change, debug it"]),
    dict(kind="write_readme", intent="documentation", agents=["docs-writer"], tools=["Agent", "Glob", "Read", "Write"], endpoints=[],
         duration=70000, fail=0.04, templates=[
             "Write a README for this repo: what it does, how to install, how to run the tests",
             "Our README is outdated; rewrite it with setup instructions and usage examples",
             "Create a getting-started guide for new contributors to the {svc} project",
             "Document how to run the {svc} service locally in the README",
             "please write proper project documentation (README.md) with a quick start section"]),
    dict(kind="add_docstrings", intent="documentation", agents=[], tools=["Read", "Edit"], endpoints=[],
         duration=40000, fail=0.03, templates=[
             "Add docstrings to every public function in {pyfile}",
             "The functions in {pyfile} have no documentation; add Google-style docstrings",
             "Write docstrings for {func} and the other helpers in the module, explain the parameters",
             "document the functions in {pyfile} with type hints and docstrings",
             "add inline comments and docstrings to {func}, it's hard to understand"]),
    dict(kind="security_audit_deps", intent="security", agents=["security-auditor"], tools=["Agent", "Bash", "Read", "Write"], endpoints=[],
         duration=100000, fail=0.08, templates=[
             "Run a security audit of our Python dependencies and list the packages with known CVEs",
             "Check the npm packages for vulnerabilities and tell me which ones need upgrading",
             "Are any of our dependencies affected by known security advisories? Scan and report.",
             "do a vulnerability scan of requirements.txt and write up the findings",
             "audit third-party packages in the {svc} service for security issues"]),
    dict(kind="leaked_secret", intent="security", agents=["security-auditor"], tools=["Agent", "Grep", "Bash", "Edit"], endpoints=[],
         duration=60000, fail=0.06, templates=[
             "I think I committed an AWS key in the {svc} config; find any hard-coded secrets in the repo",
             "Scan the codebase for leaked API tokens and passwords and move them to environment variables",
             "Someone pushed a database password in plain text — find all secrets in the code and remove them",
             "search the repository for hardcoded credentials and replace them with env vars",
             "check whether any private keys or tokens are committed in {svc}"]),
    dict(kind="sql_migration", intent="data", agents=["db-admin"], tools=["Agent", "Read", "Write", "Bash", "mcp__postgres__query"], endpoints=["postgres/query"],
         duration=90000, fail=0.1, templates=[
             "Write an Alembic migration that adds a nullable column 'archived_at' to {table}",
             "Create a database migration to rename the {table}.status column to state without downtime",
             "We need a migration adding an index on {table}(user_id, created_at)",
             "add a foreign key from {table} to users in a new migration and backfill existing rows",
             "Generate the schema migration for splitting the {table} table's address into its own table"]),
    dict(kind="pandas_cleaning", intent="data", agents=[], tools=["Read", "Write", "Bash"], endpoints=[],
         duration=75000, fail=0.07, templates=[
             "Clean up this CSV of {table} with pandas: drop duplicates, parse the dates, fill missing prices",
             "Write a pandas script that merges the {table} export with the customers file and outputs a report",
             "I have a messy Excel export of {table}; normalise the column names and fix the encodings with pandas",
             "Load {table}.csv into a dataframe and compute monthly totals per customer",
             "use pandas to deduplicate the {table} data and write it back as parquet"]),
    dict(kind="rename_refactor", intent="refactoring", agents=[], tools=["Grep", "Read", "Edit", "MultiEdit"], endpoints=[],
         duration=55000, fail=0.05, templates=[
             "Rename {func} to something clearer across the whole codebase and update all call sites",
             "Refactor: rename the 'usr' variables in {pyfile} to 'user' everywhere",
             "Please rename the class OrderMgr to OrderService and fix every import",
             "rename the {svc} module to {svc}_core and update references",
             "Our naming is inconsistent: rename camelCase functions in {pyfile} to snake_case"]),
    dict(kind="split_module", intent="refactoring", agents=["code-refactorer"], tools=["Agent", "Read", "Write", "Edit", "Bash"], endpoints=[],
         duration=150000, fail=0.12, templates=[
             "{pyfile} is 3000 lines long; split it into smaller modules without changing behaviour",
             "Extract the validation logic from {func} into its own module and remove the duplication",
             "Refactor the {svc} service: separate the data access layer from the business logic",
             "Break up this god class in {pyfile} into cohesive classes, keep the tests passing",
             "restructure {svc} into a package with submodules; it's one giant file right now"]),
    dict(kind="upgrade_dependency", intent="dependencies", agents=[], tools=["Read", "Edit", "Bash"], endpoints=[],
         duration=85000, fail=0.15, templates=[
             "Upgrade {lib} to the latest major version and fix whatever breaks",
             "Bump {lib} in requirements and make sure the test suite still passes",
             "We're stuck on an old {lib}; migrate to the new version and update deprecated calls",
             "resolve the dependency conflict between {lib} and our other packages",
             "update {lib} — the current version has a deprecation warning everywhere"]),
    dict(kind="explain_codebase", intent="research", agents=["Explore"], tools=["Agent", "Glob", "Grep", "Read"], endpoints=[],
         duration=65000, fail=0.03, templates=[
             "How does authentication work in this codebase? Walk me through the flow",
             "Explain the architecture of the {svc} service: where requests come in and where data is stored",
             "Where is the retry logic for the {svc} client implemented?",
             "I'm new here — give me an overview of how the {svc} module is organised",
             "what happens when a user places an order? trace the code path for me",
             "Find where we compute {func} and explain what it does"]),
    dict(kind="git_merge_conflict", intent="devops", agents=[], tools=["Bash", "Read", "Edit"], endpoints=[],
         duration=45000, fail=0.1, templates=[
             "I have merge conflicts after rebasing onto main in {pyfile}; resolve them keeping both changes",
             "Help me resolve the git conflict in {jsfile}, my branch and main both changed the same function",
             "git rebase stopped with conflicts in three files, please sort them out",
             "fix the merge conflict markers left in {pyfile} and finish the merge",
             "I messed up a rebase; recover my commits and resolve the conflicts"]),
    dict(kind="jira_ticket", intent="feature", agents=[], tools=["mcp__jira__search_issues", "mcp__jira__create_issue"], endpoints=["jira/search_issues", "jira/create_issue"],
         duration=20000, fail=0.05, templates=[
             "Create a Jira ticket for the {svc} timeout bug and link it to the current sprint",
             "File a Jira issue describing the broken export in {svc}, assign it to me",
             "Open a ticket in Jira for adding pagination to the {svc} API",
             "check if there's already a Jira issue about the {svc} login problem, otherwise create one",
             "make a jira story for migrating {svc} to the new database"]),
    dict(kind="review_pull_request", intent="research", agents=["code-reviewer"], tools=["Agent", "mcp__github__get_pull_request", "Read", "mcp__github__create_review"], endpoints=["github/get_pull_request", "github/create_review"],
         duration=95000, fail=0.06, templates=[
             "Review pull request #{num} and leave comments on anything risky",
             "Can you do a code review of PR {num}? Focus on error handling and tests",
             "Please review the open PR #{num} for the {svc} changes before I merge",
             "look at pull request {num} and tell me if it's safe to merge",
             "Give PR #{num} a thorough review — security, performance and style"]),
    dict(kind="add_logging", intent="feature", agents=[], tools=["Read", "Edit"], endpoints=[],
         duration=35000, fail=0.04, templates=[
             "Add structured logging to {func} so we can see the inputs and timing",
             "We have no logs in the {svc} worker; add logging with the request id at info level",
             "Replace the print statements in {pyfile} with proper logging",
             "add debug logs around the retry loop in {func}",
             "instrument {pyfile} with logging of errors and durations"]),
    dict(kind="cli_option", intent="feature", agents=[], tools=["Read", "Edit", "Bash"], endpoints=[],
         duration=50000, fail=0.06, templates=[
             "Add a --dry-run flag to the {svc} command line tool",
             "Our CLI needs a --verbose option that turns on debug output",
             "Add a --format json|csv option to the export command",
             "implement a --since DATE argument for the {svc} cli",
             "Add a subcommand 'status' to our click CLI that prints the {svc} health"]),
    dict(kind="caching_layer", intent="performance", agents=["backend-architect"], tools=["Agent", "Read", "Edit", "Write", "Bash", "mcp__redis__get"], endpoints=["redis/get"],
         duration=170000, fail=0.14, templates=[
             "Add Redis caching in front of the {svc} lookups; invalidate on update",
             "The {svc} API hits the database on every request; put a cache in front of it",
             "Implement a read-through Redis cache for {func} with a 5 minute TTL",
             "cache the expensive {svc} responses in redis so p95 latency drops",
             "Introduce caching for {func} results — it's called thousands of times with the same args"]),
    dict(kind="regex_help", intent="research", agents=[], tools=[], endpoints=[],
         duration=8000, fail=0.02, templates=[
             "Write a regex that matches ISO 8601 dates like 2024-03-01T10:00:00Z",
             "What regular expression would validate UK postcodes?",
             "Give me a regex to extract the domain from an email address",
             "regex to match semantic version strings such as 1.2.3-beta.1",
             "I need a regular expression for phone numbers with optional country code",
             "How do I write a regex that matches a hex color like #fff or #a1b2c3?"]),
    dict(kind="write_e2e_playwright", intent="testing", agents=["test-writer"], tools=["Agent", "Write", "Bash", "mcp__playwright__browser_navigate"], endpoints=["playwright/browser_navigate"],
         duration=140000, fail=0.15, templates=[
             "Write a Playwright end-to-end test for the login flow",
             "Add an e2e browser test that goes through checkout and asserts the order confirmation",
             "Create Playwright tests for the {comp} page: open it, fill the form, submit",
             "we need end-to-end tests in the browser for the signup journey",
             "automate the {svc} admin UI smoke test with playwright"]),
    dict(kind="graphql_schema", intent="api_design", agents=["backend-architect"], tools=["Agent", "Read", "Write", "Edit"], endpoints=[],
         duration=120000, fail=0.1, templates=[
             "Design a GraphQL schema for {svc} with queries and mutations",
             "Add a GraphQL mutation to update {svc} and a query to fetch it by id",
             "Our GraphQL API needs a paginated connection type for {svc}",
             "Expose {svc} through GraphQL with resolvers and input types",
             "write the graphql types and resolvers for the {svc} domain"]),
    dict(kind="fix_memory_leak", intent="performance", agents=["debugger"], tools=["Agent", "Bash", "Read", "Edit"], endpoints=[],
         duration=180000, fail=0.2, templates=[
             "The {svc} worker's memory grows until it gets killed; find the memory leak",
             "Memory usage of {svc} climbs by 100MB per hour, track down the leak",
             "We suspect a memory leak in {func}: objects are never freed. Investigate with tracemalloc",
             "our node process for {svc} leaks memory over time, find what holds the references",
             "RSS keeps increasing in the {svc} service until OOM — fix the leak"]),
    dict(kind="sentry_error_triage", intent="debugging", agents=[], tools=["mcp__sentry__get_issue", "Read", "Edit"], endpoints=["sentry/get_issue"],
         duration=60000, fail=0.1, templates=[
             "Look at Sentry issue {sid} and fix the underlying bug",
             "There's a new Sentry error spike in {svc}; pull the issue details and patch it",
             "Triage the top Sentry issue for {svc} and propose a fix",
             "sentry reports an unhandled exception {sid} in production, fix it",
             "Check the Sentry event for {sid} and tell me where in the code it comes from"]),
    dict(kind="slack_summary", intent="documentation", agents=[], tools=["Bash", "mcp__slack__post_message"], endpoints=["slack/post_message"],
         duration=25000, fail=0.05, templates=[
             "Summarise today's commits and post the summary to the #{chan} Slack channel",
             "Post a message in #{chan} with the list of merged PRs this week",
             "Send the deploy notes for {svc} to #{chan} on Slack",
             "write a short status update of the {svc} work and post it to slack #{chan}",
             "let the team in #{chan} know that the {svc} migration finished"]),
    dict(kind="type_hints_mypy", intent="refactoring", agents=[], tools=["Bash", "Read", "Edit"], endpoints=[],
         duration=80000, fail=0.08, templates=[
             "Add type hints to {pyfile} and make mypy --strict pass",
             "mypy reports 40 errors in the {svc} package; fix them",
             "Annotate {func} and its callers with proper types",
             "get the codebase passing mypy, starting with {pyfile}",
             "add typing to the {svc} module and fix the Optional misuse mypy complains about"]),
    dict(kind="i18n_strings", intent="frontend", agents=[], tools=["Read", "Edit", "Write"], endpoints=[],
         duration=60000, fail=0.05, templates=[
             "Extract all hard-coded UI strings in {comp} into the i18n message files",
             "Make the {comp} component translatable: move text to locale JSON files",
             "Internationalise the settings page — wrap strings with t() and add keys",
             "replace hardcoded english labels in {comp} with i18n keys",
             "add i18n support for the {comp} texts using react-intl"]),
    dict(kind="rate_limiting", intent="security", agents=["backend-architect"], tools=["Agent", "Read", "Edit", "Bash"], endpoints=[],
         duration=110000, fail=0.1, templates=[
             "Add rate limiting to the {svc} API: 100 requests per minute per API key",
             "Protect the login endpoint from brute force with a rate limiter",
             "Implement per-user throttling on the {svc} endpoints and return 429 when exceeded",
             "we're getting hammered by a scraper; add request rate limits to {svc}",
             "add a token bucket rate limit middleware to the API"]),
    # ---- kinds kept unseen: they appear only in the future ------------------------------------
    dict(kind="terraform_s3", intent="devops", agents=["infra-engineer"], tools=["Agent", "Write", "Bash", "mcp__aws__describe_bucket"], endpoints=["aws/describe_bucket"],
         duration=150000, fail=0.1, seen=False, templates=[
             "Write Terraform for an S3 bucket with versioning and a lifecycle rule for the {svc} backups",
             "Provision the {svc} bucket and IAM policy with terraform",
             "Create terraform modules for our S3 storage with encryption at rest",
             "set up infrastructure as code (terraform) for the {svc} object storage"]),
    dict(kind="changelog_release", intent="documentation", agents=[], tools=["mcp__github__list_commits", "Write"], endpoints=["github/list_commits"],
         duration=30000, fail=0.05, seen=False, templates=[
             "Generate release notes for version {ver} from the commits since the last tag",
             "Write the CHANGELOG entry for {ver}, grouped by features and fixes",
             "Prepare the changelog for the {ver} release",
             "draft release notes for {ver} based on merged commits"]),
    dict(kind="accessibility_audit", intent="frontend", agents=["a11y-auditor"], tools=["Agent", "mcp__playwright__browser_snapshot", "Write"], endpoints=["playwright/browser_snapshot"],
         duration=90000, fail=0.1, seen=False, templates=[
             "Audit the signup page for WCAG accessibility problems and write a report",
             "Check our web app for screen reader issues: missing alt text, labels, contrast",
             "Do an accessibility review of the {comp} page against WCAG 2.1 AA",
             "find a11y violations on the checkout flow and list them by severity"]),
    dict(kind="airflow_pipeline", intent="data", agents=["data-engineer"], tools=["Agent", "Write", "Bash"], endpoints=[],
         duration=160000, fail=0.15, seen=False, templates=[
             "Write an Airflow DAG that extracts {table} from Postgres nightly and loads it into BigQuery",
             "Create a scheduled ETL pipeline in Airflow for the {table} data",
             "Build a daily data pipeline (Airflow) that aggregates {table} into a reporting table",
             "set up an airflow job to sync {table} to the warehouse every hour"]),
    dict(kind="oauth_login", intent="security", agents=["auth-specialist"], tools=["Agent", "Read", "Write", "Edit", "Bash"], endpoints=[],
         duration=200000, fail=0.2, seen=False, templates=[
             "Add 'Sign in with Google' OAuth2 login to the web app",
             "Implement OAuth 2.0 authorization code flow with PKCE for our mobile client",
             "Integrate GitHub OAuth login and store the user's tokens securely",
             "let users log in with their Microsoft account via OpenID Connect"]),
    dict(kind="load_testing", intent="performance", agents=["perf-tester"], tools=["Agent", "Write", "Bash"], endpoints=[],
         duration=140000, fail=0.12, seen=False, templates=[
             "Write a k6 load test that ramps up to 500 virtual users against the {svc} API",
             "Create a Locust load test for the checkout endpoint and report the p95 latency",
             "load test the {svc} service to find the maximum requests per second",
             "simulate 1000 concurrent users hitting the {svc} API and measure throughput"]),
    dict(kind="backup_cron", intent="devops", agents=[], tools=["Write", "Bash"], endpoints=[],
         duration=40000, fail=0.08, seen=False, templates=[
             "Write a bash script that backs up the {table} database nightly and rotates old dumps, and add it to cron",
             "Set up a cron job to pg_dump {table} every night to /backups",
             "Create a scheduled backup script for our postgres with 7 days retention",
             "automate nightly database backups with a shell script and crontab"]),
    dict(kind="email_template", intent="feature", agents=[], tools=["Read", "Write"], endpoints=[],
         duration=35000, fail=0.05, seen=False, templates=[
             "Create an HTML email template for the order confirmation with the items table",
             "Design the password reset email (HTML + plain text version)",
             "Write a welcome email template for new {svc} users with our branding",
             "make a responsive transactional email template for shipping notifications"]),
]

SLOTS = {
    "pyfile": PY_FILES, "jsfile": JS_FILES, "func": FUNCS, "svc": SERVICES, "table": TABLES, "lib": LIBS,
    "comp": COMPONENTS, "num": ["1423", "877", "2051", "312", "1999"], "sid": ["PROJ-4F2", "API-19C", "WEB-7A1", "PAY-330"],
    "chan": ["eng", "releases", "backend", "team-payments"], "ver": ["2.4.0", "3.0.0", "1.12.1", "5.2.0"],
}


def expand(kind: dict, count: int, rng: random.Random) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    templates = kind["templates"]
    for i in itertools.count():
        if len(out) >= count or i > count * 50:
            break
        template = templates[i % len(templates)]
        values = {name: rng.choice(options) for name, options in SLOTS.items()}
        text = template.format(**values)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def main() -> None:
    rng = random.Random(20261127)
    kinds_out, requests = [], []
    for kind in KINDS:
        seen = kind.get("seen", True)
        texts = expand(kind, PER_KIND if seen else PER_UNSEEN_KIND, rng)
        kinds_out.append({k: v for k, v in kind.items() if k != "templates"} | {"seen": seen})
        requests.extend({"kind": kind["kind"], "text": t} for t in texts)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"kinds": kinds_out, "requests": requests}, indent=1) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(kinds_out)} kinds, {len(requests)} requests")


if __name__ == "__main__":
    main()
