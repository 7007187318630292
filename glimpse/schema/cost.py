"""A cost (complexity) budget per request, checked during validation.

Depth and alias limits stop deep or wide documents, but not a shallow query that asks for a
thousand images, each with a hundred events. The cost here approximates the number of values
the server would resolve: every field costs 1 times the number of parents it is resolved for,
and a field with a ``first``/``last`` argument (connections, ``events``) multiplies what is
below it by that page size, or by its declared default, or by the server's default page size
for connections. ``_entities`` costs the sum over its representations of what the
selection costs for each one's ``__typename``.

The check runs with the request's variables, so ``images(first: $n)`` is priced with the
real ``$n``, not a worst case.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NamedTypeNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    get_named_type,
    is_abstract_type,
)
from graphql.language import ValueNode
from strawberry.extensions import SchemaExtension

PAGE_ARGS = ("first", "last")


class CostCalculator:
    """Prices one operation of a document against a schema.

    Under an abstract type (a union such as federation's ``_Entity``, an interface) a
    selection costs what it costs for the most expensive concrete type, fragments with a
    type condition counting only where they apply. ``_entities`` is priced per
    representation, each for the type its ``__typename`` names.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        default_page: int,
    ) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables
        self.default_page = default_page
        self.used_variables = False  # whether the price depends on this request's variables

    def operation(self, op: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(op.operation)
        return self._selection_set(op.selection_set, root, frozenset()) if root else 0

    def _selection_set(self, sel: SelectionSetNode | None, parent: Any, seen: Seen) -> int:
        if sel is None:
            return 0
        if is_abstract_type(parent):
            types = self.schema.get_possible_types(parent)
            return max((self._concrete(sel, t, seen) for t in types), default=len(sel.selections))
        return self._concrete(sel, parent, seen)

    def _concrete(self, sel: SelectionSetNode, parent: Any, seen: Seen) -> int:
        return sum(self._field(node, parent, seen) for node in self._fields(sel, parent, seen))

    def _fields(self, sel: SelectionSetNode, parent: Any, seen: Seen) -> Iterator[FieldNode]:
        """Fields of a selection set for the concrete type ``parent``, fragments flattened
        where their type condition applies (cycles are a validation error of their own;
        ``seen`` just keeps this walk finite)."""
        for node in sel.selections:
            if isinstance(node, FieldNode):
                yield node
            elif isinstance(node, InlineFragmentNode):
                if self._applies(node.type_condition, parent):
                    yield from self._fields(node.selection_set, parent, seen)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                frag = self.fragments.get(node.name.value)
                if frag is not None and self._applies(frag.type_condition, parent):
                    yield from self._fields(frag.selection_set, parent, seen | {node.name.value})

    def _applies(self, condition: NamedTypeNode | None, parent: Any) -> bool:
        if condition is None or not isinstance(parent, GraphQLObjectType):
            return True
        named = self.schema.get_type(condition.name.value)
        if named is None or named is parent:
            return named is parent
        return is_abstract_type(named) and self.schema.is_sub_type(named, parent)

    def _field(self, node: FieldNode, parent: Any, seen: Seen) -> int:
        fields = getattr(parent, "fields", None) or {}
        field_def: GraphQLField | None = fields.get(node.name.value)
        if field_def is None or node.selection_set is None:
            return 1  # scalars, __typename, or an unknown field (a validation error)
        child = get_named_type(field_def.type)
        if node.name.value == "_entities":
            return 1 + self._entities(node, child, seen)
        below = self._selection_set(node.selection_set, child, seen)
        return 1 + self._multiplier(node, field_def) * below

    def _entities(self, node: FieldNode, union: Any, seen: Seen) -> int:
        """Each representation priced for its own type; unknown types at the dearest."""
        args = {a.name.value: a.value for a in node.arguments or ()}
        reps = self._representations(args.get("representations"))
        prices: dict[str | None, int] = {}
        total = 0
        for typename in reps:
            if typename not in prices:
                named = self.schema.get_type(typename) if typename else None
                target = named if isinstance(named, GraphQLObjectType) else union
                prices[typename] = self._selection_set(node.selection_set, target, seen)
            total += prices[typename]
        return total

    def _representations(self, value: ValueNode | None) -> list[str | None]:
        """The ``__typename`` of each representation (``None`` where it is not a string)."""
        if isinstance(value, ListValueNode):
            return [_literal_typename(v) for v in value.values]
        if isinstance(value, VariableNode):
            self.used_variables = True
            reps = self.variables.get(value.name.value)
            if isinstance(reps, list):
                return [_typename(r) for r in reps]
            return [None]
        return [_literal_typename(value)] if value is not None else []

    def _multiplier(self, node: FieldNode, field_def: GraphQLField) -> int:
        args = {a.name.value: a.value for a in node.arguments or ()}
        for name in PAGE_ARGS:
            if name in args:
                value = self._int(args[name])
                if value is not None:
                    return max(1, value)
        for name in PAGE_ARGS:
            arg = field_def.args.get(name)
            if arg is not None and isinstance(arg.default_value, int):
                return max(1, arg.default_value)
        if any(name in field_def.args for name in PAGE_ARGS):
            return self.default_page
        return 1

    def _int(self, value: ValueNode) -> int | None:
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            self.used_variables = True
            v = self.variables.get(value.name.value)
            return v if isinstance(v, int) and not isinstance(v, bool) else None
        return None


Seen = frozenset[str]


def _typename(rep: Any) -> str | None:
    name = rep.get("__typename") if isinstance(rep, dict) else None
    return name if isinstance(name, str) else None


def _literal_typename(value: ValueNode) -> str | None:
    if isinstance(value, ObjectValueNode):
        for f in value.fields:
            if f.name.value == "__typename" and isinstance(f.value, StringValueNode):
                return f.value.value
    return None


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any],
    default_page: int,
) -> tuple[OperationDefinitionNode, int, bool] | None:
    """(operation, its price, whether the price depends on the variables) of the operation
    to run, or ``None`` when the document has no such operation."""
    frags = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    calc = CostCalculator(schema, frags, variables, default_page)
    for op in document.definitions:
        if not isinstance(op, OperationDefinitionNode):
            continue
        if operation_name and (op.name is None or op.name.value != operation_name):
            continue
        return op, calc.operation(op), calc.used_variables
    return None


def budget_error(op: OperationDefinitionNode, cost: int, max_cost: int) -> GraphQLError:
    return GraphQLError(
        f"Query cost {cost} exceeds the budget of {max_cost}: ask for smaller pages "
        "(first/last) or fewer nested lists",
        op,
        extensions={"code": "COST_LIMIT_EXCEEDED", "cost": cost, "maxCost": max_cost},
    )


def over_budget(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any],
    max_cost: int,
    default_page: int,
) -> GraphQLError | None:
    """The error to report when the operation to run costs more than ``max_cost``."""
    found = operation_cost(schema, document, operation_name, variables, default_page)
    if found is None:
        return None
    op, cost, _ = found
    return budget_error(op, cost, max_cost) if cost > max_cost else None


class CostLimiter(SchemaExtension):
    """Refuses, before execution, an operation over the cost budget.

    It runs after validation rather than as a validation rule so that validation results
    can be cached per document (the cost depends on this request's variables); the refusal
    is a request error like a validation failure: no ``data``, 400 with
    ``application/graphql-response+json``.
    """

    def __init__(self, max_cost: int, default_page: int) -> None:
        self.max_cost, self.default_page = max_cost, default_page

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is not None and ctx.result is None:
            error = over_budget(
                ctx.schema._schema,
                ctx.graphql_document,
                ctx.operation_name,
                ctx.variables or {},
                self.max_cost,
                self.default_page,
            )
            if error is not None:
                ctx.result = ExecutionResult(data=None, errors=[error])
        yield


class StaticRules(SchemaExtension):
    """Adds validation rules built once per schema (depth, aliases, introspection).

    Strawberry's own limiter extensions build a new rule class per instance, i.e. per request
    when passed as factories, which defeats the validation cache keyed by the rule tuple.
    """

    def __init__(self, rules: tuple[type[ASTValidationRule], ...]) -> None:
        self.rules = rules

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        ctx.validation_rules = (*ctx.validation_rules, *self.rules)
        yield
