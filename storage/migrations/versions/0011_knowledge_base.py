"""the knowledge base: articles, their versions, index terms, and the full-text index of each database

SQLite gets an FTS5 table of ready-made terms (rowid = article id); PostgreSQL a weighted tsvector column with a
GIN index. The terms come from the application's analysis (jieba for Chinese, Snowball for English), so neither
database needs a Chinese parser of its own.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'kb_articles',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('key', sa.String(length=200), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=500), nullable=False),
        sa.Column('problem', sa.Text(), nullable=False),
        sa.Column('solution', sa.Text(), nullable=False),
        sa.Column('category', sa.String(length=64), nullable=False),
        sa.Column('product_module', sa.String(length=128), nullable=False),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('visibility', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('source_tickets', sa.JSON(), nullable=False),
        sa.Column('author', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('helpful', sa.Integer(), nullable=False),
        sa.Column('not_helpful', sa.Integer(), nullable=False),
        sa.Column('terms', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_articles')),
        sa.UniqueConstraint('key', name=op.f('uq_kb_articles_key')),
    )
    op.create_index('ix_kb_articles_public', 'kb_articles', ['visibility', 'status'], unique=False)
    op.create_table(
        'kb_article_versions',
        sa.Column('article_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=500), nullable=False),
        sa.Column('problem', sa.Text(), nullable=False),
        sa.Column('solution', sa.Text(), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('author', sa.String(length=200), nullable=False),
        sa.Column('edited_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'],
                                name=op.f('fk_kb_article_versions_article_id_kb_articles')),
        sa.PrimaryKeyConstraint('article_id', 'version', name=op.f('pk_kb_article_versions')),
    )
    op.create_table(
        'kb_terms',
        sa.Column('term', sa.String(length=100), nullable=False),
        sa.Column('docs', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('term', name=op.f('pk_kb_terms')),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE kb_articles ADD COLUMN search_vector tsvector")
        op.execute("CREATE INDEX ix_kb_articles_search ON kb_articles USING gin (search_vector)")
    else:
        # unicode61 splits the ready-made terms on spaces; the terms are already lower case and stemmed.
        op.execute("CREATE VIRTUAL TABLE kb_fts USING fts5(title, tags, body, tokenize = 'unicode61')")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        op.execute("DROP TABLE IF EXISTS kb_fts")
    op.drop_table('kb_terms')
    op.drop_table('kb_article_versions')
    op.drop_index('ix_kb_articles_public', table_name='kb_articles')
    op.drop_table('kb_articles')
