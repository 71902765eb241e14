'use strict'

const js = require('@eslint/js')
const globals = require('globals')

module.exports = [
  { ignores: ['binding.js', 'binding.d.ts', 'target/**', 'node_modules/**', 'npm/**', '**/*.ts'] },
  js.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', ecmaVersion: 2022, globals: { ...globals.node } },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', ecmaVersion: 2022, globals: { ...globals.node } },
  },
  { files: ['__test__/jest/**/*.js'], languageOptions: { globals: { ...globals.jest } } },
  { rules: { 'no-unused-vars': ['error', { argsIgnorePattern: '^_' }] } },
]
