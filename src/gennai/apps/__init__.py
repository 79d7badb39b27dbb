"""General AI apps (文章生成, 要約, 校正, 翻訳, やさしい日本語, 議事録作成 …), each defined by one
TOML file: its form in the Gennai AI-app protocol's format, its prompt and its routing hints.

- gennai.apps.definitions: the file format, `load_apps(folders)`;
- gennai.apps.forms: form definitions and the validation of submitted inputs;
- gennai.apps.prompts: the prompt templates ({field} placeholders, nothing executable);
- gennai.apps.runner: `AppRunner(platform).run(...)`, through the one admission path;

Adding an app is adding a file (docs/apps.md). This package imports nothing heavy on its own:
import the module you need.
"""
